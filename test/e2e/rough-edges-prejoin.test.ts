/**
 * Rough edges of a first meeting (issue 15), before and after the meeting:
 * 2. leaving does not turn camera and microphone back on;
 * 3. the lobby's waiting screen keeps the preview live, says it is waiting once, and can be left;
 * 9. on a phone the Join button is in view without scrolling; the preview's microphone and camera
 *    buttons come before Join in tab order (the no-device case and 4., the denied camera in the meeting,
 *    are in prejoin.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting, PHONE } from '../support/browser.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';

/** Records every track getUserMedia hands out, so the test can ask which are still live. */
async function watchTracks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { opened: MediaStreamTrack[] };
    w.opened = [];
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
      const stream = await original(c);
      w.opened.push(...stream.getTracks());
      return stream;
    };
  });
}
const tracks = (page: Page) =>
  page.evaluate(() => {
    const opened = (window as unknown as { opened: MediaStreamTrack[] }).opened;
    return { opened: opened.length, live: opened.filter((t) => t.readyState === 'live').length };
  });

describe('rough edges: pre-join, lobby and leaving', () => {
  const e2e = stackAndChromium();

  test('leaving the meeting does not turn camera and microphone back on', async () => {
    const a = await e2e.chromium.newPage();
    await watchTracks(a);
    await joinMeeting(a, e2e.stack.edgeUrl, `leave-${Date.now()}`, 'Ada');
    await a.click('#leave');
    await a.waitForSelector('.prejoin[data-ready]');
    const after = await tracks(a);
    await waitFor('the meeting’s tracks to stop', async () => (await tracks(a)).live === 0, 10_000, 100);
    assert.equal((await tracks(a)).opened, after.opened, 'the post-leave screen opened no device');
    assert.match((await a.textContent('.notices')) ?? '', /Camera and microphone are off/);
    // Joining again opens them.
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    await waitFor('live tracks again', async () => (await tracks(a)).live >= 2, 10_000, 100);
  });

  test('the lobby keeps the preview live, says it is waiting once, and can be left', async () => {
    const room = `lobby-${Date.now()}`;
    const mod = await SignalingClient.connect(e2e.stack.wsUrl(room));
    await mod.join('Moderator');
    await mod.request('lockRoom', { locked: true });
    const a = await e2e.chromium.newPage();
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await a.waitForSelector('#lobby-waiting:not([hidden])');
    await mod.waitForEvent<{ waiting: unknown[] }>('lobbyChanged', (d) => d.waiting.length === 1);
    assert.equal(await a.getAttribute('#prejoin-camera', 'aria-label'), 'Turn camera off');
    await waitFor(
      'the preview to play while waiting',
      () => a.evaluate(() => (document.querySelector('.preview') as HTMLVideoElement).videoWidth > 0),
      10_000,
    );
    const body = (await a.textContent('.prejoin')) ?? '';
    assert.equal(body.split('Waiting for a moderator').length - 1, 1, 'the waiting text once');
    assert.equal(await a.textContent('#join'), 'Stop waiting');
    await a.click('#join');
    await waitFor('the moderator to see the lobby empty again', () => {
      const seen = mod.events('lobbyChanged') as { waiting: unknown[] }[];
      return seen.length > 1 && seen.at(-1)!.waiting.length === 0;
    });
    assert.match((await a.textContent('.prejoin .error')) ?? '', /You stopped waiting/);
    assert.equal(await a.textContent('#join'), 'Join meeting');
    await mod.close();
  });

  test('on a phone Join is in view; the preview buttons come before Join in tab order', async () => {
    const a = await e2e.chromium.newPage('en-US', PHONE);
    await a.goto(`${e2e.stack.edgeUrl}/phone-${Date.now()}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    const box = await a.locator('#join').boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 844, `Join in view (${JSON.stringify(box)})`);
    // From the name field, Tab goes through the preview's buttons before the device choices and Join.
    await a.focus('#name');
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      await a.keyboard.press('Tab');
      order.push(await a.evaluate(() => document.activeElement?.id ?? ''));
    }
    assert.deepEqual(order.slice(0, 2), ['prejoin-mic', 'prejoin-camera'], order.join(','));
    assert.ok(order.indexOf('join') > 1, `Join after them (${order.join(',')})`);
  });
});
