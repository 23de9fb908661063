/**
 * What the page does when a moderator acts (the moderator here is a scripted participant; the
 * moderation controls themselves are not part of the page yet): in a locked room the page waits in the
 * lobby and enters when admitted; a moderator's mute shows as muted; removal and a refused entry end on
 * the pre-join screen with the reason.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { participantId } from '../support/browser.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';

describe('moderated meeting', () => {
  const e2e = stackAndChromium();

  test('lobby, admission, mute by a moderator, removal, refusal', async () => {
    const room = `moderated-${Date.now()}`;
    const mod = await SignalingClient.connect(e2e.stack.wsUrl(room));
    const joined = await mod.join('Moderator');
    assert.equal(joined.role, 'moderator', 'the first to join moderates');
    await mod.request('lockRoom', { locked: true });

    const a = await e2e.chromium.newPage();
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await waitFor(
      'the waiting notice',
      async () => (await a.locator('#lobby-waiting').textContent()) === 'Waiting for a moderator to let you in…',
      10_000,
    );
    const waiting = await mod.waitForEvent<{ waiting: { id: string; name: string }[] }>(
      'lobbyChanged',
      (d) => d.waiting.length === 1,
    );
    assert.equal(waiting.waiting[0]!.name, 'Ada');
    await mod.request('admit', { participantId: waiting.waiting[0]!.id });
    await a.waitForSelector('.meeting .stage', { timeout: 15_000 });
    const aid = await participantId(a);
    assert.equal(aid, waiting.waiting[0]!.id);

    // Muted by the moderator: the page shows the microphone off and says why.
    await waitFor(
      "Ada's microphone producer",
      () =>
        mod
          .events('producerAdded')
          .some(
            (e) =>
              (e as { participantId: string; source: string }).participantId === aid &&
              (e as { source: string }).source === 'microphone',
          ),
      15_000,
    );
    await mod.request('muteParticipant', { participantId: aid, source: 'microphone' });
    await waitFor(
      'the muted button',
      async () => (await a.getAttribute('#mic-toggle', 'aria-label')) === 'Unmute microphone',
      5_000,
    );
    assert.match((await a.locator('.toasts').textContent())!, /A moderator turned off your microphone/);
    // Unmuting is Ada's own decision, and works.
    await a.click('#mic-toggle');
    await mod.waitForEvent<{ participantId: string; paused: boolean }>(
      'producerPaused',
      (d) => d.participantId === aid && !d.paused,
    );

    await mod.request('removeParticipant', { participantId: aid });
    await a.waitForSelector('.prejoin', { timeout: 10_000 });
    assert.equal(await a.locator('.prejoin-form .message').textContent(), 'A moderator removed you from the meeting.');

    // Refused from the lobby: back on the pre-join screen with the reason.
    await a.click('#join');
    const again = await mod.waitForEvent<{ waiting: { id: string }[] }>(
      'lobbyChanged',
      (d) => d.waiting.length === 1 && d.waiting[0]!.id !== aid,
    );
    await mod.request('refuse', { participantId: again.waiting[0]!.id });
    await waitFor(
      'the refusal',
      async () => (await a.locator('.prejoin-form .error').textContent()) === 'You were not let in.',
      10_000,
    );
    await mod.close();
  });
});
