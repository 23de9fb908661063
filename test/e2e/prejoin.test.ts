/**
 * The pre-join screen: devices listed, a live preview and a moving microphone level meter; joining with
 * camera and microphone off (the others see both off, and no camera is sent); clear messages when access
 * is denied or a device is missing, and joining still works. Denial and missing devices are simulated in
 * the page (getUserMedia rejecting as the browser would), since the fake-device flags grant everything.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting, participantId, sendInfo } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

/** Makes getUserMedia fail for `kind` with the DOMException a browser gives. */
async function failDevice(page: Page, kind: 'video' | 'audio', name: 'NotAllowedError' | 'NotFoundError') {
  await page.addInitScript(
    ([k, n]) => {
      const md = navigator.mediaDevices;
      const original = md.getUserMedia.bind(md);
      md.getUserMedia = (c?: MediaStreamConstraints) =>
        c?.[k as 'video' | 'audio'] ? Promise.reject(new DOMException('simulated', n)) : original(c);
      if (n === 'NotFoundError') {
        const enumerate = md.enumerateDevices.bind(md);
        md.enumerateDevices = async () =>
          (await enumerate()).filter((d) => d.kind !== (k === 'video' ? 'videoinput' : 'audioinput'));
      }
    },
    [kind, name],
  );
}

describe('pre-join screen', () => {
  const e2e = stackAndChromium();

  test('devices, preview, level meter; joining with camera and microphone off', async () => {
    const room = `prejoin-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    assert.ok((await a.locator('#camera-select option').count()) >= 1, 'cameras listed');
    assert.ok((await a.locator('#mic-select option').count()) >= 1, 'microphones listed');
    assert.equal(await a.locator('.notices .notice').count(), 0, 'no warnings');
    await waitFor(
      'the preview to play',
      () => a.evaluate(() => (document.querySelector('.preview') as HTMLVideoElement).videoWidth > 0),
      10_000,
    );
    await waitFor(
      'the level meter to move',
      async () => Number(await a.getAttribute('.meter', 'aria-valuenow')) > 0,
      10_000,
    );
    // Camera and microphone off before joining: the preview goes dark, the camera is released.
    await a.click('#prejoin-camera');
    await a.click('#prejoin-mic');
    assert.equal(await a.locator('.preview-off').isVisible(), true);
    assert.equal(await a.evaluate(() => (document.querySelector('.preview') as HTMLVideoElement).srcObject), null);
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    assert.equal(await a.getAttribute('#mic-toggle', 'aria-label'), 'Unmute microphone');
    assert.equal(await a.getAttribute('#camera-toggle', 'aria-label'), 'Turn camera on');
    await waitFor(
      'the paused microphone producer',
      async () => (await sendInfo(a)).some((s) => s.source === 'microphone' && s.paused),
      10_000,
    );
    assert.equal(
      (await sendInfo(a)).some((s) => s.source === 'camera'),
      false,
      'no camera sent',
    );

    const b = await e2e.chromium.newPage();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const aid = await participantId(a);
    await b.click('#people-toggle');
    const item = `.people-list li[data-participant-id="${aid}"]`;
    await waitFor(
      "Ada's states in Ben's list",
      async () => (await b.locator(`${item} .mic-off`).isVisible()) && b.locator(`${item} .cam-off`).isVisible(),
      10_000,
    );
    // The choices are remembered for the next time.
    const again = await a.context().newPage();
    await again.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await again.waitForSelector('.prejoin[data-ready]');
    assert.equal(await again.inputValue('#name'), 'Ada');
    assert.equal(await again.getAttribute('#prejoin-camera', 'aria-label'), 'Turn camera on');
    await again.close();
  });

  test('camera access denied: a clear message, and joining works without video', async () => {
    const room = `denied-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await failDevice(a, 'video', 'NotAllowedError');
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    assert.match((await a.locator('.notices').textContent())!, /Access to the camera was denied/);
    await mkdir('test-output', { recursive: true });
    await a.fill('#name', 'Ada');
    await a.screenshot({ path: 'test-output/web-prejoin-camera-denied.png' });
    assert.equal(await a.locator('.preview-off').isVisible(), true);
    await waitFor(
      'the microphone still works',
      async () => Number(await a.getAttribute('.meter', 'aria-valuenow')) > 0,
      10_000,
    );
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    await waitFor(
      'the microphone sent',
      async () => (await sendInfo(a)).some((s) => s.source === 'microphone' && !s.paused),
      10_000,
    );
    // Trying the camera again in the meeting fails the same way and says so: denied, not "could not be
    // started" (issue 15).
    await a.click('#camera-toggle');
    await waitFor(
      'a notice',
      async () => /may not use the camera: the browser denied access/.test((await a.locator('.toasts').textContent())!),
      5_000,
    );
  });

  test('no microphone and no camera: messages, and joining to watch and listen', async () => {
    const room = `nodevice-${Date.now()}`;
    const a = await e2e.chromium.newPage('de-DE');
    await failDevice(a, 'audio', 'NotFoundError');
    await failDevice(a, 'video', 'NotFoundError');
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    const notices = (await a.locator('.notices').textContent())!;
    // One notice for both (issue 15: two near-identical ones before), and no empty dropdowns.
    assert.equal(await a.locator('.notices .notice').count(), 1);
    assert.match(notices, /Keine Kamera und kein Mikrofon gefunden/);
    assert.equal(await a.locator('#camera-select').isVisible(), false);
    assert.equal(await a.locator('#mic-select').isVisible(), false);
    assert.equal(await a.locator('#prejoin-mic').isDisabled(), true);
    const b = await e2e.chromium.newPage();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    await a.fill('#name', 'Anna');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    const bid = await participantId(b);
    await waitFor(
      'Anna to receive Ben',
      async () => (await a.locator(`.tile[data-participant-id="${bid}"].has-video`).count()) === 1,
      15_000,
    );
    assert.deepEqual(await sendInfo(a), [], 'nothing sent');
  });

  test('the edge list is asked for while the pre-join screen shows, not after the click (issue 14)', async () => {
    const room = `prepare-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    const asked: string[] = [];
    a.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/edges') asked.push(r.url());
    });
    await a.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    await waitFor('the edge list asked ahead', () => asked.length === 1);
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    assert.equal(asked.length, 1, 'the join took the list asked ahead');

    // ?prepare=late (the comparison switch): nothing before the click, the list then.
    const late: string[] = [];
    const b = await e2e.chromium.newPage();
    b.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/edges') late.push(r.url());
    });
    await b.goto(`${e2e.stack.edgeUrl}/${room}?video=360&prepare=late`);
    await b.waitForSelector('.prejoin[data-ready]');
    assert.equal(late.length, 0);
    await b.fill('#name', 'Ben');
    await b.click('#join');
    await b.waitForSelector('.meeting .stage');
    assert.equal(late.length, 1);
  });
});
