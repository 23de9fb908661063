/**
 * The invite link: alone in a room, the page says so and shows the link; the copy buttons put the room's
 * address (without diagnostics switches) on the clipboard and confirm it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('invite link', () => {
  const e2e = stackAndChromium();

  test('copied to the clipboard, confirmed', async () => {
    const room = `invite-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada', { query: '?video=360&relay=0' });
    const link = `${e2e.stack.edgeUrl}/${room}`;
    assert.equal(await a.locator('.alone .invite-url').textContent(), link, 'the alone notice shows the link');
    await a.click('#invite');
    await waitFor(
      'the confirmation',
      async () => (await a.locator('.toasts').textContent())!.includes('Invite link copied'),
      5_000,
    );
    assert.equal(await a.evaluate(() => navigator.clipboard.readText()), link);
    await a.evaluate(() => navigator.clipboard.writeText(''));
    await a.click('.alone .invite-inline');
    await waitFor(
      'the link again',
      async () => (await a.evaluate(() => navigator.clipboard.readText())) === link,
      5_000,
    );
    // A second participant: the alone notice goes.
    const b = await e2e.chromium.newPage();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    await waitFor('the notice to go', async () => (await a.locator('.alone').count()) === 0, 10_000);
  });
});
