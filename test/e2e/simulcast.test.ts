/**
 * Simulcast layer selection: Ada's camera (720p capture) is sent as three layers; Ben's page asks for
 * the layer that fits the tile it shows Ada in (setConsumerLayers), and the SFU switches: a small
 * filmstrip tile gets spatial layer 0, the speaker view's spotlight layer 2, a two-person grid tile
 * layer 1. Asserted on the media node (the consumer's current layers) and in Ben's decoder (frame size).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { inboundStats, joinMeeting, participantId, sendInfo } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('simulcast', () => {
  const e2e = stackAndChromium();

  test('each tile gets the layer that fits it', async () => {
    const room = `simulcast-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada', { query: '?video=720' });
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { query: '?video=360' });
    const aid = await participantId(a);
    const camera = (await sendInfo(a)).find((s) => s.source === 'camera')!;
    assert.deepEqual(
      camera.encodings.map((e) => [e.scaleResolutionDownBy, e.scalabilityMode]),
      [
        [4, 'L1T3'],
        [2, 'L1T3'],
        [1, 'L1T3'],
      ],
      'three layers',
    );

    const consumerOfAda = async (page: Page) =>
      (await inboundStats(page)).find((s) => s.participantId === aid && s.source === 'camera');
    const { consumerId } = await waitFor("Ben to receive Ada's camera", () => consumerOfAda(b), 15_000);
    const layers = async () => {
      const res = await e2e.stack.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`);
      return (await res.json()) as {
        type: string;
        currentLayers: { spatialLayer: number } | null;
        preferredLayers: { spatialLayer: number } | null;
      };
    };
    assert.equal((await layers()).type, 'simulcast');
    const expectLayer = async (what: string, spatial: number) => {
      await waitFor(
        `${what}: the page asks for spatial layer ${spatial}`,
        async () => (await consumerOfAda(b))?.layer === spatial,
        10_000,
      );
      await waitFor(
        `${what}: the SFU sends spatial layer ${spatial}`,
        async () => (await layers()).currentLayers?.spatialLayer === spatial,
        30_000,
        200,
      );
      // The decoder follows once a key frame of the new layer arrived.
      return waitFor(
        `${what}: frames of layer ${spatial}`,
        async () => {
          const s = await consumerOfAda(b);
          const expected = [180, 360, 720][spatial]!;
          return s && s.frameHeight > 0 && s.frameHeight <= expected && s.frameHeight > expected / 2
            ? s.frameHeight
            : undefined;
        },
        30_000,
        200,
      );
    };

    // Speaker view: Ada in the spotlight → the high layer.
    await b.click('#view-toggle');
    await waitFor(
      "Ada in Ben's spotlight",
      async () => (await b.locator('.spotlight .tile').getAttribute('data-participant-id')) === aid,
      5_000,
    );
    const large = await expectLayer('spotlight', 2);

    // Ben pins himself: Ada moves to the filmstrip → the low layer.
    await b.locator('.tile.self').hover();
    await b.click('.tile.self .pin');
    await waitFor(
      "Ada in Ben's filmstrip",
      async () => (await b.locator(`.filmstrip .tile[data-participant-id="${aid}"]`).count()) === 1,
      5_000,
    );
    const small = await expectLayer('filmstrip', 0);
    assert.ok(small < large, `small tile ${small}p < spotlight ${large}p`);

    // Back to Ada large, then the two-person grid (tiles about 490×370) → the middle layer.
    await b.locator(`.tile[data-participant-id="${aid}"]`).hover();
    await b.click(`.tile[data-participant-id="${aid}"] .pin`);
    await expectLayer('pinned', 2);
    await b.click('#view-toggle');
    await expectLayer('grid', 1);
  });
});
