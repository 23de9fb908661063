/**
 * The active speaker, decided by the media node's ActiveSpeakerObserver: with every fake microphone
 * playing a speech-like signal, only one is left unmuted; every page highlights that participant's tile, the speaker view
 * shows them large, and when another one is the only unmuted microphone the highlight moves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from '../support/stack.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinMeeting, launchChromium, participantId, speechLikeWav, type Chromium } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const speaking = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('.tile.speaking')].map((t) => t.getAttribute('data-participant-id')),
  );

describe('active speaker', () => {
  let stack: Stack;
  let chromium: Chromium;
  let dir: string;
  before(async () => {
    stack = await startStack({ runtime: 'node', workers: 1 });
    // Every fake microphone "speaks" continuously (a looped speech-like signal); only unmuted ones are heard.
    dir = await mkdtemp(join(tmpdir(), 'treffpunkt-speech-'));
    chromium = await launchChromium({
      args: [`--use-file-for-fake-audio-capture=${speechLikeWav(join(dir, 'speech.wav'))}`],
    });
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the only unmuted microphone is highlighted on every page', async (t) => {
    const room = `speaker-${Date.now()}`;
    const pages = [await chromium.newPage(), await chromium.newPage(), await chromium.newPage()];
    // A steady signal is what the browser's noise suppression learns to remove; switched off here so that
    // a microphone that is on is heard as speech.
    for (const page of pages) {
      await page.addInitScript(() => {
        const md = navigator.mediaDevices;
        const original = md.getUserMedia.bind(md);
        md.getUserMedia = (c?: MediaStreamConstraints) =>
          original(
            c?.audio
              ? {
                  ...c,
                  audio: {
                    ...(typeof c.audio === 'object' ? c.audio : {}),
                    noiseSuppression: false,
                    autoGainControl: false,
                  },
                }
              : c,
          );
      });
    }
    const [a, b, c] = pages as [Page, Page, Page];
    // Everyone joins muted (microphones produced, paused). The edge passes on changes of the active
    // speaker only, so Cleo (the last to join) speaks first: whatever the observer chose before, the
    // change to her, or her being chosen, happens while all three pages listen.
    await joinMeeting(a, stack.edgeUrl, room, 'Ada', { camera: false, microphone: false });
    await joinMeeting(b, stack.edgeUrl, room, 'Ben', { camera: false, microphone: false });
    await joinMeeting(c, stack.edgeUrl, room, 'Cleo', { camera: false, microphone: false });
    const [bid, cid] = [await participantId(b), await participantId(c)];
    assert.equal(await b.getAttribute('#mic-toggle', 'aria-label'), 'Unmute microphone', 'joined muted');
    await a.click('#view-toggle');
    await a.click('#people-toggle');

    await c.click('#mic-toggle');
    for (const page of pages)
      await waitFor('Cleo highlighted', async () => (await speaking(page)).join() === cid, 20_000, 100);
    // Speaker view shows the active speaker large; the list marks them too.
    await waitFor(
      "Cleo large in Ada's speaker view",
      async () => (await a.locator('.spotlight .tile').getAttribute('data-participant-id')) === cid,
      5_000,
    );
    assert.match((await a.locator(`.people-list li[data-participant-id="${cid}"]`).getAttribute('class'))!, /speaking/);
    // Not by colour alone (issue 15): an icon with the text "Speaking" on the tile and in the list.
    assert.equal(await a.locator(`.tile[data-participant-id="${cid}"] .state.speaking`).isVisible(), true);
    assert.equal(await a.locator(`.tile[data-participant-id="${cid}"] .state.speaking`).textContent(), 'Speaking');
    assert.equal(
      await a.locator(`.people-list li[data-participant-id="${cid}"] .state.speaking`).textContent(),
      'Speaking',
    );

    // Cleo mutes, Ben unmutes: the highlight moves to Ben everywhere, and Ada's spotlight follows.
    await c.click('#mic-toggle');
    await b.click('#mic-toggle');
    const switched = Date.now();
    for (const page of pages)
      await waitFor('Ben highlighted', async () => (await speaking(page)).join() === bid, 20_000, 100);
    t.diagnostic(`the highlight moved after ${Date.now() - switched} ms`);
    await waitFor(
      "Ben large in Ada's speaker view",
      async () => (await a.locator('.spotlight .tile').getAttribute('data-participant-id')) === bid,
      5_000,
    );
    assert.match((await a.locator(`.people-list li[data-participant-id="${bid}"]`).getAttribute('class'))!, /speaking/);
  });
});
