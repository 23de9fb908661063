/**
 * Moderation through the page (issue "who may moderate"): three Chromium pages in one room of an open
 * deployment, where the first to join moderates. The moderator, by clicking in the participant list,
 * mutes B's microphone (B's page shows it off and says why; C sees B muted) and removes C after
 * confirming (C sees the removal screen; A and B no longer list C). B, not a moderator, has no such
 * controls, and a raw muteParticipant sent from B's page is refused with FORBIDDEN and changes nothing.
 * Then the room actions: A locks the room (everyone sees the lock), a newcomer waits in the lobby and A
 * admits them from the list; finally A ends the meeting for everyone after confirming.
 * With join tokens, the role comes from the token: a page opened with ?token= joins with it (no name
 * asked, the token leaves the address bar, ?region= is passed on) and moderates only if the token says so;
 * names from tokens carry the verified mark, typed ones do not.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentToken } from '../support/join-token.ts';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { joinMeeting, launchChromium, participantId, type Chromium } from '../support/browser.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';

const person = (id: string) => `#people-panel .people-list li[data-participant-id="${id}"]`;
const hidden = (page: Page, selector: string) =>
  page.locator(selector).evaluate((e) => (e as HTMLElement).hidden || getComputedStyle(e).display === 'none');

describe('moderation in the page', () => {
  const e2e = stackAndChromium();

  test('a moderator mutes and removes through the list; others cannot', async () => {
    const room = `modui-${Date.now()}`;
    const [a, b, c] = [await e2e.chromium.newPage(), await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    await joinMeeting(c, e2e.stack.edgeUrl, room, 'Cleo');
    const [aid, bid, cid] = [await participantId(a), await participantId(b), await participantId(c)];
    // An observer socket sees what the room broadcasts (it joins last, so it is no moderator).
    const observer = await SignalingClient.connect(e2e.stack.wsUrl(room));
    const seen = await observer.join('Observer');
    assert.equal(seen.role, 'participant');
    const micOf = (id: string) =>
      seen.participants.find((p) => p.id === id)?.producers.find((x) => x.source === 'microphone');
    assert.ok(micOf(aid) && micOf(bid), 'Ada and Ben send a microphone');
    assert.equal(micOf(bid)!.paused, false);

    assert.equal(await a.getAttribute('.meeting', 'data-role'), 'moderator');
    assert.equal(await b.getAttribute('.meeting', 'data-role'), 'participant');

    // Ada opens the list: an actions button for Ben and Cleo, none for herself; room actions are shown.
    await a.click('#people-toggle');
    await a.waitForSelector(`${person(bid)} .person-actions`);
    assert.equal(await a.locator(`${person(aid)} .person-actions`).count(), 0, 'no actions on yourself');
    assert.equal(await hidden(a, '#room-actions'), false);

    // Ben's list has no moderation controls at all.
    await b.click('#people-toggle');
    await b.waitForSelector(person(aid));
    assert.equal(await b.locator('#people-panel .person-actions').count(), 0, 'a participant gets no actions menu');
    assert.equal(await hidden(b, '#room-actions'), true, 'a participant gets no room actions');

    // Ada mutes Ben's microphone from the menu.
    await a.click(`${person(bid)} .person-actions`);
    assert.equal(await a.getAttribute(`${person(bid)} .person-actions`, 'aria-expanded'), 'true');
    await a.click(`${person(bid)} [data-action="mute-microphone"]`);
    await observer.waitForEvent<{ participantId: string; producerId: string; paused: boolean }>(
      'producerPaused',
      (d) => d.participantId === bid && d.producerId === micOf(bid)!.id && d.paused,
    );
    // Ben's page: the microphone button is off, and a notice says a moderator did it.
    await waitFor(
      "Ben's mic button to show muted",
      async () => (await b.getAttribute('#mic-toggle', 'aria-label')) === 'Unmute microphone',
      10_000,
    );
    assert.match((await b.locator('#mic-toggle').getAttribute('class'))!, /\boff\b/);
    await waitFor(
      "the notice on Ben's page",
      async () => /A moderator turned off your microphone/.test((await b.locator('.toasts').textContent()) ?? ''),
      5_000,
    );
    // Cleo's page shows Ben muted, in the list and on his tile.
    await waitFor(
      'Cleo to see Ben muted',
      async () => !(await hidden(c, `.tile[data-participant-id="${bid}"] .mic-off`)),
      10_000,
    );
    await c.click('#people-toggle');
    await waitFor("Cleo's list to show Ben muted", async () => !(await hidden(c, `${person(bid)} .mic-off`)), 5_000);
    // In Ada's menu, muting Ben again is now disabled and asking him to unmute is offered.
    await a.click(`${person(bid)} .person-actions`);
    assert.equal(await a.locator(`${person(bid)} [data-action="mute-microphone"]`).isDisabled(), true);
    assert.equal(await a.locator(`${person(bid)} [data-action="ask-microphone"]`).isDisabled(), false);
    await a.keyboard.press('Escape');
    assert.equal(await a.locator(`${person(bid)} .person-menu`).count(), 0, 'Escape closes the menu');

    // Ben (not a moderator) sends muteParticipant for Ada through his page's own socket: refused.
    const refused = await b.evaluate(async (target) => {
      const m = (
        window as unknown as { treffpunkt: { meeting: { muteParticipant(id: string, source: string): Promise<void> } } }
      ).treffpunkt.meeting;
      try {
        await m.muteParticipant(target, 'microphone');
        return 'accepted';
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
    }, aid);
    assert.equal(refused, 'FORBIDDEN');
    // A's microphone was not paused: a fresh look at the room shows it live, and no producerPaused for it.
    const fresh = await SignalingClient.connect(e2e.stack.wsUrl(room));
    const now = await fresh.join('Checker');
    assert.equal(
      now.participants.find((p) => p.id === aid)!.producers.find((x) => x.source === 'microphone')!.paused,
      false,
      "Ada's microphone is still live",
    );
    assert.ok(
      !observer.events('producerPaused').some((e) => (e as { participantId: string }).participantId === aid),
      'nobody was told Ada is muted',
    );
    assert.equal(
      await a.getAttribute('#mic-toggle', 'aria-label'),
      'Mute microphone',
      "Ada's own button still shows her microphone on",
    );
    await fresh.request('leave', {});
    await fresh.close();

    // Ada removes Cleo: a confirmation first (cancel keeps her), then the removal.
    await a.click(`${person(cid)} .person-actions`);
    await a.click(`${person(cid)} [data-action="remove"]`);
    await a.waitForSelector('#confirm-dialog[open]');
    assert.equal(await a.locator('#confirm-title').textContent(), 'Remove Cleo from the meeting?');
    await a.click('#confirm-dialog .confirm-cancel');
    await waitFor('the dialog to close', async () => (await a.locator('#confirm-dialog').count()) === 0, 5_000);
    assert.equal(await c.locator('.meeting').count(), 1, 'cancelled: Cleo is still in');
    await a.click(`${person(cid)} .person-actions`);
    await a.click(`${person(cid)} [data-action="remove"]`);
    await a.click('#confirm-dialog .confirm-ok');
    // Cleo's page: the removal screen with the reason.
    await c.waitForSelector('.prejoin', { timeout: 10_000 });
    assert.equal(await c.locator('.prejoin-form .message').textContent(), 'A moderator removed you from the meeting.');
    // Ada and Ben no longer list Cleo, nor show her tile.
    for (const page of [a, b]) {
      await waitFor(
        'Cleo to leave the list',
        async () =>
          (await page.locator(person(cid)).count()) === 0 &&
          (await page.locator(`.tile[data-participant-id="${cid}"]`).count()) === 0,
        10_000,
      );
      await waitFor(
        'Ada, Ben and the observer to remain',
        async () => (await page.locator('#people-panel .people-list > li').count()) === 3,
        5_000,
      );
    }
    await observer.waitForEvent<{ participantId: string }>('participantLeft', (d) => d.participantId === cid);

    // Lock: Ada's button, a lock shown to Ben too; a newcomer then waits and Ada admits them from the list.
    await a.click('#lock-room');
    await observer.waitForEvent<{ locked: boolean }>('roomLocked', (d) => d.locked);
    await waitFor(
      'the lock to show on both pages',
      async () => (await a.locator('#lock-state').isVisible()) && (await b.locator('#lock-state').isVisible()),
      5_000,
    );
    assert.equal(await a.getAttribute('#lock-room', 'aria-pressed'), 'true');
    const newcomer = await SignalingClient.connect(e2e.stack.wsUrl(room));
    const reply = await newcomer.call('join', { protocolVersion: 1, name: 'Dora' });
    assert.equal(reply.ok ? 'joined' : reply.error.code, 'WAITING_IN_LOBBY');
    await a.waitForSelector('#lobby li.waiting', { timeout: 10_000 });
    assert.equal(await a.locator('#lobby li.waiting .person-name').textContent(), 'Dora');
    assert.equal(await a.locator('#lobby li.waiting .verified').count(), 0, 'a typed name is not marked verified');
    assert.equal(await b.locator('#lobby li.waiting').count(), 0, 'only moderators see the lobby');
    await a.click('#lobby li.waiting .admit');
    const admitted = await newcomer.waitForEvent<{ participantId: string }>('admitted');
    await waitFor(
      "Dora in Ada's list, the lobby empty",
      async () =>
        (await a.locator(person(admitted.participantId)).count()) === 1 && (await a.locator('#lobby').isHidden()),
      10_000,
    );

    // End the meeting for everyone (after confirming): Ben's page says a moderator ended it.
    await a.click('#end-meeting');
    await a.waitForSelector('#confirm-dialog[open]');
    await a.click('#confirm-dialog .confirm-ok');
    await b.waitForSelector('.prejoin', { timeout: 10_000 });
    assert.equal(await b.locator('.prejoin-form .message').textContent(), 'A moderator ended the meeting.');
    await a.waitForSelector('.prejoin', { timeout: 10_000 });
    assert.equal(await a.locator('.prejoin-form .message').textContent(), 'You ended the meeting for everyone.');
    await waitFor(
      "the others' sockets to be closed",
      () => observer.closeCode === 4000 && newcomer.closeCode === 4000,
      5_000,
    );
  });
});

describe('moderation with join tokens', () => {
  const SECRET = 'moderation-ui-test-secret-0123456789abcdef';
  let stack: Stack;
  let chromium: Chromium;
  before(async () => {
    stack = await startStack({
      runtime: 'node',
      workers: 1,
      edgeEnv: { TREFFPUNKT_JOIN_TOKEN_SECRET: SECRET, TREFFPUNKT_GUEST_POLICY: 'allow' },
    });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });

  const token = (room: string, name: string, role: string) => deploymentToken(SECRET, { room, name, role });

  /** Opens the room with a token in the address, records the page's join request, joins. */
  async function joinWithToken(page: Page, room: string, jwt: string, extra = ''): Promise<Record<string, unknown>> {
    let join: Record<string, unknown> | undefined;
    await page.routeWebSocket(/\/rooms\/[^/]+\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const frame = JSON.parse(String(m)) as { method: string; params: Record<string, unknown> };
        if (frame.method === 'join') join = frame.params;
        server.send(m);
      });
    });
    await page.goto(`${stack.edgeUrl}/${room}?video=360&token=${jwt}${extra}`);
    await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
    await page.click('#join');
    await page.waitForSelector('.meeting .stage', { timeout: 60_000 });
    return waitFor('the join request', () => join);
  }

  test('the token decides who moderates; the token leaves the address bar', async () => {
    const room = `modtoken-${Date.now()}`;
    const [m, p] = [await chromium.newPage(), await chromium.newPage()];
    // The participant joins first: in a deployment with tokens, being first makes nobody a moderator.
    const pJoin = await joinWithToken(p, room, await token(room, 'Paul', 'participant'));
    assert.equal(pJoin.name, undefined, 'no name is sent with a token');
    assert.equal(typeof pJoin.token, 'string');
    assert.equal(await p.getAttribute('.meeting', 'data-role'), 'participant');

    const mToken = await token(room, 'Mona', 'moderator');
    await m.goto(`${stack.edgeUrl}/${room}?video=360&token=${mToken}&region=eu-central`);
    await m.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
    assert.equal(await m.locator('#name').count(), 0, 'no name field with a token');
    assert.equal(await m.locator('#invited-as').textContent(), 'You join as Mona.');
    assert.ok(!m.url().includes('token='), `the token left the address bar: ${m.url()}`);
    assert.ok(m.url().includes('region=eu-central'));
    // Join through the routed socket to see what the page sends.
    const mJoin = await joinWithToken(m, room, mToken, '&region=eu-central');
    assert.equal(mJoin.token, mToken);
    assert.equal(mJoin.region, 'eu-central');
    assert.equal(mJoin.name, undefined);
    assert.equal(await m.getAttribute('.meeting', 'data-role'), 'moderator');
    const [pid, mid] = [await participantId(p), await participantId(m)];
    assert.match((await m.locator(`.tile[data-participant-id="${mid}"] .name`).textContent())!, /^Mona \(You\)$/);

    // Mona has the moderation controls for Paul; Paul has none.
    await m.click('#people-toggle');
    await m.waitForSelector(`${person(pid)} .person-actions`);
    await p.click('#people-toggle');
    await p.waitForSelector(person(mid));
    assert.equal(await p.locator('#people-panel .person-actions').count(), 0);
    assert.equal(await hidden(p, '#room-actions'), true);
    assert.equal(await p.locator(`${person(mid)} .role`).isVisible(), true, 'Paul sees that Mona moderates');
    // Both names come from tokens: marked verified, with a text for screen readers (issue 10).
    assert.equal(await p.locator(`${person(mid)} .verified`).getAttribute('aria-label'), 'Verified identity');
    assert.equal(await m.locator(`${person(pid)} .verified`).count(), 1);
    assert.equal(await p.locator(`.tile[data-participant-id="${mid}"] .verified`).count(), 1, 'on the video tile too');
  });
});
