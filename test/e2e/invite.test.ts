/**
 * The invite link: alone in a room, the page says so and shows the link; the copy buttons put the room's
 * address (without diagnostics switches) on the clipboard and confirm it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.ts';
import { joinMeeting, launchChromium, type Chromium } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('invite link', () => {
  let stack: Stack;
  let chromium: Chromium;
  before(async () => {
    stack = await startStack({ runtime: 'node', workers: 1 });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });

  test('copied to the clipboard, confirmed', async () => {
    const room = `invite-${Date.now()}`;
    const a = await chromium.newPage();
    await joinMeeting(a, stack.edgeUrl, room, 'Ada', { query: '?video=360&relay=0' });
    const link = `${stack.edgeUrl}/${room}`;
    assert.equal(await a.locator('.alone .invite-url').textContent(), link, 'the alone notice shows the link');
    await a.click('#invite');
    await waitFor('the confirmation', async () => (await a.locator('.toasts').textContent())!.includes('Invite link copied'), 5_000);
    assert.equal(await a.evaluate(() => navigator.clipboard.readText()), link);
    await a.evaluate(() => navigator.clipboard.writeText(''));
    await a.click('.alone .invite-inline');
    await waitFor('the link again', async () => (await a.evaluate(() => navigator.clipboard.readText())) === link, 5_000);
    // A second participant: the alone notice goes.
    const b = await chromium.newPage();
    await joinMeeting(b, stack.edgeUrl, room, 'Ben');
    await waitFor('the notice to go', async () => (await a.locator('.alone').count()) === 0, 10_000);
  });
});
