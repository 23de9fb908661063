/**
 * Browsers without WebRTC (issue 15; WebKitGTK has getUserMedia but no RTCPeerConnection), simulated by
 * deleting the API before the app loads:
 * - the page explains, in the person's language, that this browser cannot join and which ones can; it
 *   opens no room socket, so the others never see it;
 * - a browser whose WebRTC only fails once it is used (here: RTCPeerConnection throws) joins, fails and
 *   leaves at once: the others see it go long before the resume grace period (set to 10 minutes here,
 *   so that a ghost tile would stay for the whole test) would drop it.
 */
import { mkdir } from 'node:fs/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const participants = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { treffpunkt: { meeting: { participants: Map<string, unknown> } } }).treffpunkt.meeting
        .participants.size,
  );

describe('browsers without WebRTC', () => {
  const e2e = stackAndChromium({ edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: '600000' } });

  for (const [locale, heading, browsers] of [
    ['en-US', 'This browser cannot join video meetings', 'Firefox, Chrome, Edge or Safari'],
    ['de-DE', 'Mit diesem Browser ist keine Videokonferenz möglich', 'Firefox, Chrome, Edge oder Safari'],
  ] as const) {
    test(`without RTCPeerConnection the page explains (${locale}) and never joins`, async () => {
      const room = `nowebrtc-${locale}-${Date.now()}`;
      const a = await e2e.chromium.newPage();
      await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
      const b = await e2e.chromium.newPage(locale);
      await b.addInitScript(() => {
        const w = window as unknown as Record<string, unknown>;
        delete w.RTCPeerConnection;
        delete w.webkitRTCPeerConnection;
      });
      const sockets: string[] = [];
      b.on('websocket', (ws) => sockets.push(ws.url()));
      await b.goto(`${e2e.stack.edgeUrl}/${room}`);
      await b.waitForSelector('#unsupported-browser');
      const text = await b.textContent('#unsupported-browser');
      assert.ok(text?.includes(heading), text ?? '');
      assert.ok(text?.includes(browsers), 'names the browsers that work');
      assert.equal(await b.textContent('#unsupported-missing'), 'RTCPeerConnection');
      await mkdir('test-output', { recursive: true });
      await b.screenshot({ path: `test-output/web-unsupported-browser-${locale}.png` });
      assert.equal(await b.$('#join'), null, 'nothing to join with');
      assert.deepEqual(sockets, [], 'no room socket was opened');
      assert.equal(await participants(a), 1, 'Ada is alone');
    });
  }

  test('a page whose WebRTC fails after joining leaves at once (no ghost tile)', async () => {
    const room = `ghost-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    const b = await e2e.chromium.newPage();
    await b.addInitScript(() => {
      // Present, so the check passes; unusable, as in a browser whose WebRTC is broken or disabled.
      (window as unknown as Record<string, unknown>).RTCPeerConnection = function RTCPeerConnection() {
        throw new Error('WebRTC is disabled');
      };
      (window as unknown as { RTCPeerConnection: { prototype: object } }).RTCPeerConnection.prototype = {
        addTransceiver() {},
      };
    });
    // Counts the tiles of others that appear on Ada's page (Ben's, for as long as he is in the room).
    await a.evaluate(() => {
      const w = window as unknown as { othersSeen: number };
      w.othersSeen = 0;
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes) if (n instanceof HTMLElement && n.matches('.tile:not(.self)')) w.othersSeen++;
      }).observe(document.body, { childList: true, subtree: true });
    });
    await b.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await b.fill('#name', 'Ben');
    await b.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
    await b.click('#join');
    // The join fails on the pre-join screen with the reason.
    await waitFor(
      'the failed join to be shown',
      async () => ((await b.textContent('.prejoin .error')) ?? '') !== '',
      60_000,
      100,
    );
    assert.match((await b.textContent('.prejoin .error')) ?? '', /WebRTC is disabled/);
    // Ada saw Ben come (he was admitted), and sees him go without waiting out the 10-minute grace period.
    await waitFor(
      'Ada to see Ben join',
      () => a.evaluate(() => (window as unknown as { othersSeen: number }).othersSeen > 0),
      30_000,
      100,
    );
    await waitFor('Ada to be alone again', async () => (await participants(a)) === 1, 30_000, 100);
    assert.equal(await a.$$eval('.tile', (tiles) => tiles.length), 1, 'no ghost tile');
  });
});
