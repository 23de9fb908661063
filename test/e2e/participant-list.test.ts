/**
 * The participant list and tiles follow everyone's state: a raised hand, a muted microphone (muted on
 * the server too: setProducerPaused, so nothing is forwarded) and a switched-off camera show on the
 * other page, and go away again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { framesFrom, inboundStats, joinMeeting, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('participant list', () => {
  const e2e = stackAndChromium();

  const visible = async (page: Page, selector: string) =>
    (await page.locator(selector).count()) === 1 && page.locator(selector).isVisible();

  test('hand, microphone and camera state reach the other page', async () => {
    const room = `people-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const aid = await participantId(a);
    await b.click('#people-toggle');
    const item = `.people-list li[data-participant-id="${aid}"]`;
    await waitFor("Ada in Ben's list", () => visible(b, item), 10_000);
    assert.equal(await b.locator(`${item} .person-name`).textContent(), 'Ada');

    // Raise hand: Ben's list and Ada's tile show it, and it is announced; lowering removes it.
    await a.click('#hand-toggle');
    await waitFor("the raised hand in Ben's list", () => visible(b, `${item} .hand`), 5_000);
    assert.equal(await b.locator(`.tile[data-participant-id="${aid}"] .state.hand`).isVisible(), true);
    assert.equal(
      await b.locator('.people-list li').first().getAttribute('data-participant-id'),
      aid,
      'raised hands first',
    );
    await waitFor(
      'the announcement',
      async () => (await b.locator('#announcer').textContent())!.includes('Ada raised a hand'),
      5_000,
    );
    assert.equal(await a.getAttribute('#hand-toggle', 'aria-label'), 'Lower hand');
    await a.click('#hand-toggle');
    await waitFor('the hand to go down', async () => !(await b.locator(`${item} .hand`).isVisible()), 5_000);

    // Mute: the list shows it, and the SFU stopped forwarding (the consumer's producer is paused).
    const micConsumer = await waitFor(
      "Ben to receive Ada's microphone",
      async () => (await inboundStats(b)).find((s) => s.participantId === aid && s.source === 'microphone'),
      15_000,
    );
    const producerPaused = async () =>
      (
        (await (
          await e2e.stack.controlFetch(`/v1/rooms/${room}/consumers/${micConsumer.consumerId}/stats`)
        ).json()) as { producerPaused: boolean }
      ).producerPaused;
    assert.equal(await b.locator(`${item} .mic-off`).isVisible(), false);
    await a.click('#mic-toggle');
    await waitFor("the muted icon in Ben's list", () => visible(b, `${item} .mic-off`), 5_000);
    assert.equal(await b.locator(`.tile[data-participant-id="${aid}"] .state.mic-off`).isVisible(), true);
    assert.equal(await producerPaused(), true, 'paused on the server');
    assert.equal(await a.getAttribute('#mic-toggle', 'aria-label'), 'Unmute microphone');
    await a.click('#mic-toggle');
    await waitFor('the muted icon to go', async () => !(await b.locator(`${item} .mic-off`).isVisible()), 5_000);
    assert.equal(await producerPaused(), false);

    // Camera off: Ben sees the avatar and the camera-off icon; on again: frames flow again.
    await waitFor("Ben to decode Ada's camera", async () => (await framesFrom(b, aid)) > 10, 15_000);
    await a.click('#camera-toggle');
    await waitFor('the camera-off icon', () => visible(b, `${item} .cam-off`), 5_000);
    await waitFor(
      'the avatar instead of video',
      async () =>
        !(await b.locator(`.tile[data-participant-id="${aid}"]`).getAttribute('class'))!.includes('has-video'),
      5_000,
    );
    assert.equal(
      await a.evaluate(() =>
        [...document.querySelectorAll('video')].some((v) =>
          (v.srcObject as MediaStream | null)
            ?.getVideoTracks()
            .some((t) => t.readyState === 'live' && t.label.includes('fake')),
        ),
      ),
      false,
      "Ada's camera is released",
    );
    await a.click('#camera-toggle');
    await waitFor('the camera-off icon to go', async () => !(await b.locator(`${item} .cam-off`).isVisible()), 5_000);
    const before = await framesFrom(b, aid);
    await waitFor('frames again', async () => (await framesFrom(b, aid)) > before + 10, 15_000);
    assert.equal(await b.locator(`.people-list li`).count(), 2);
  });
});
