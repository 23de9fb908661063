/**
 * Reconnection (browser side of `resume`): a page whose room socket drops reconnects by itself and
 * resumes within the grace period, keeping its transports, producers and consumers, and nobody else
 * notices; when the grace period has run out before it gets through, its resume is refused and the page
 * joins again by itself (a new participant, the same page; see also auto-rejoin.test.ts). The edge runs with a short grace period (4 s) so the second case is
 * quick; the socket is cut through the page's own hook (meeting.dropConnection(), which closes it as a
 * network loss would), and reconnecting is blocked with Playwright's WebSocket routing.
 */
import { describe, test } from 'node:test';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import assert from 'node:assert/strict';
import type { Page, WebSocketRoute } from 'playwright-core';
import { framesFrom, inboundStats, joinMeeting, participantId } from '../support/browser.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';

const GRACE_MS = 4_000;

const drop = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { treffpunkt: { meeting: { dropConnection(): void } } }).treffpunkt.meeting.dropConnection(),
  );

/** Records in the page whether the reconnecting banner was ever shown (it may be up only briefly). */
const watchBanner = (page: Page) =>
  page.evaluate(() => {
    const banner = document.getElementById('reconnecting-banner')!;
    const w = window as unknown as { bannerShown: boolean };
    w.bannerShown = !banner.hidden;
    new MutationObserver(() => (w.bannerShown ||= !banner.hidden)).observe(banner, {
      attributes: true,
      attributeFilter: ['hidden'],
    });
  });

describe('reconnecting', () => {
  const e2e = stackAndChromium({ edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: String(GRACE_MS) } });

  test('a dropped socket is resumed: media keeps flowing and the others see no leave', async (t) => {
    const room = `resume-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const [aid, bid] = [await participantId(a), await participantId(b)];
    const observer = await SignalingClient.connect(e2e.stack.wsUrl(room));
    await observer.join('Observer');

    await waitFor('Ben to decode Ada', async () => (await framesFrom(b, aid)) > 10, 30_000, 250);
    await waitFor('Ada to decode Ben', async () => (await framesFrom(a, bid)) > 10, 30_000, 250);
    const consumersBefore = (await inboundStats(a)).map((s) => s.consumerId).sort();
    // Ben's tile and list entry for Ada: the very same elements must still be there afterwards (a leave
    // and a join would make new ones).
    await b.click('#people-toggle');
    await b.evaluate((id) => {
      for (const e of document.querySelectorAll(`[data-participant-id="${id}"]`))
        (e as unknown as { marked: boolean }).marked = true;
    }, aid);
    await watchBanner(a);

    await drop(a);
    const cutAt = Date.now();
    const framesAtCut = await framesFrom(b, aid);
    await waitFor('Ada to resume', async () => (await a.getAttribute('.meeting', 'data-resumes')) === '1', 15_000);
    const resumedAfter = Date.now() - cutAt;
    assert.equal(await a.getAttribute('.meeting', 'data-connection'), 'connected');
    assert.equal(
      await a.evaluate(() => (window as unknown as { bannerShown: boolean }).bannerShown),
      true,
      'the reconnecting banner was shown',
    );
    await waitFor('the banner to go', async () => await a.locator('#reconnecting-banner').isHidden(), 5_000);
    assert.match(e2e.stack.output(), /participant resumed/);

    // Media never stopped: Ben keeps decoding Ada, Ada keeps decoding Ben, on the same consumers.
    await waitFor('Ben to keep decoding Ada', async () => (await framesFrom(b, aid)) > framesAtCut + 30, 15_000, 250);
    const framesA = await framesFrom(a, bid);
    await waitFor('Ada to keep decoding Ben', async () => (await framesFrom(a, bid)) > framesA + 30, 15_000, 250);
    assert.deepEqual(
      (await inboundStats(a)).map((s) => s.consumerId).sort(),
      consumersBefore,
      'the consumers were kept, not made again',
    );

    // The new socket works: Ada's chat message reaches Ben.
    await a.click('#chat-toggle');
    await a.fill('#chat-input', 'still here');
    await a.press('#chat-input', 'Enter');
    await waitFor(
      'Ben to get the message',
      async () => (await b.locator('.messages .msg-text').allTextContents()).includes('still here'),
      10_000,
    );

    // Nobody saw Ada leave or join.
    const aboutAda = (name: 'participantLeft' | 'participantJoined') =>
      observer
        .events(name)
        .filter(
          (e) =>
            ((e as { participantId?: string; participant?: { id: string } }).participantId ??
              (e as { participant: { id: string } }).participant?.id) === aid,
        );
    assert.deepEqual(aboutAda('participantLeft'), [], 'no participantLeft for Ada');
    assert.deepEqual(aboutAda('participantJoined'), [], 'no participantJoined for Ada');
    const same = await b.evaluate(
      (id) =>
        [
          ...document.querySelectorAll(
            `.tile[data-participant-id="${id}"], .people-list > li[data-participant-id="${id}"]`,
          ),
        ].map((e) => (e as unknown as { marked?: boolean }).marked === true),
      aid,
    );
    assert.deepEqual(same, [true, true], "Ben's page kept Ada's tile and list entry");
    t.diagnostic(`resumed ${resumedAfter} ms after the cut`);
    await observer.close();
  });

  test('after the grace period the resume is refused and the page joins again by itself', async () => {
    const room = `expired-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    // Ada's sockets go through a route that the test can make refuse new connections.
    let blocked = false;
    let refused = 0;
    await a.routeWebSocket(/\/rooms\/[^/]+\/ws$/, (ws: WebSocketRoute) => {
      if (blocked) {
        refused++;
        return void ws.close({ code: 1011, reason: 'blocked by the test' });
      }
      ws.connectToServer();
    });
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const aid = await participantId(a);
    await waitFor(
      'Ben to see Ada',
      async () => (await b.locator(`.tile[data-participant-id="${aid}"]`).count()) === 1,
      10_000,
    );

    blocked = true;
    await drop(a);
    await waitFor(
      'Ada to show the reconnecting banner',
      async () => await a.locator('#reconnecting-banner').isVisible(),
      5_000,
    );
    // The grace period runs out on the server: Ben sees Ada leave. Ada's page is still trying.
    await waitFor(
      'Ben to see Ada leave',
      async () => (await b.locator(`.tile[data-participant-id="${aid}"]`).count()) === 0,
      GRACE_MS + 15_000,
      100,
    );
    assert.ok(refused >= 1, 'Ada tried to reconnect meanwhile');
    assert.equal(await a.getAttribute('.meeting', 'data-connection'), 'reconnecting');

    // Ada gets through, but too late: resume is refused, and the page joins again on its own.
    blocked = false;
    await waitFor('Ada to join again', async () => (await a.getAttribute('.meeting', 'data-rejoins')) === '1', 30_000);
    assert.equal(await a.locator('.prejoin').count(), 0, 'no pre-join screen');
    assert.equal(await a.getAttribute('.meeting', 'data-connection'), 'connected');
    const again = await participantId(a);
    assert.notEqual(again, aid, 'a new participant');
    await waitFor(
      'Ben to see Ada again',
      async () => (await b.locator(`.tile[data-participant-id="${again}"]`).count()) === 1,
      10_000,
    );
  });

  test('an ICE restart keeps the transports, producers and consumers, and media flows on', async () => {
    const room = `ice-restart-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor(
      'both to decode each other',
      async () => (await framesFrom(b, aid)) > 10 && (await framesFrom(a, bid)) > 10,
      30_000,
      250,
    );
    const consumersBefore = (await inboundStats(a)).map((s) => s.consumerId).sort();
    // The trigger in real life is a transport going 'disconnected' after it had worked (a network
    // change); here the page's own method runs the same restart on both of Ada's transports.
    await a.evaluate(async () => {
      const m = (window as unknown as { treffpunkt: { meeting: { restartIce(d: 'send' | 'recv'): Promise<void> } } })
        .treffpunkt.meeting;
      await m.restartIce('send');
      await m.restartIce('recv');
    });
    assert.equal(
      await a.evaluate(
        () =>
          (window as unknown as { treffpunkt: { meeting: { iceRestarts: number } } }).treffpunkt.meeting.iceRestarts,
      ),
      2,
    );
    const [fromA, fromB] = [await framesFrom(b, aid), await framesFrom(a, bid)];
    await waitFor(
      'media to keep flowing both ways after the restart',
      async () => (await framesFrom(b, aid)) > fromA + 10 && (await framesFrom(a, bid)) > fromB + 10,
      30_000,
      250,
    );
    assert.deepEqual((await inboundStats(a)).map((s) => s.consumerId).sort(), consumersBefore, 'the same consumers');
    for (const p of [a, b]) await p.context().close();
  });
});
