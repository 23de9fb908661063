/**
 * Screen sharing: Ada shares (getDisplayMedia; headless Chromium with the fake-UI flag picks a generated
 * 1280×720 screen), Ben gets it large in his speaker view and decodes it at full resolution (one layer,
 * no downscaling: text stays sharp); when Ada stops, the share disappears from Ben's page.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { framesFrom, inboundStats, joinMeeting, participantId, sendInfo } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('screen share', () => {
  const e2e = stackAndChromium();

  test('A shares, B decodes the share large and at full resolution; stopping removes it', async () => {
    const room = `share-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const aid = await participantId(a);

    await a.click('#screen-toggle');
    await waitFor('Ada\'s "you are sharing" notice', () => a.locator('.presenting').isVisible(), 10_000);
    assert.equal(await a.getAttribute('#screen-toggle', 'aria-label'), 'Stop sharing');
    const share = `.tile.screen[data-participant-id="${aid}"]`;
    await waitFor("the share tile on Ben's page", async () => (await b.locator(share).count()) === 1, 15_000);
    // Shown large: Ben's page switched to the speaker view with the share in the spotlight.
    assert.equal(await b.locator(`.spotlight ${share}`).count(), 1);
    assert.equal(await b.locator(share).getAttribute('aria-label'), 'Ada’s screen');
    await waitFor('Ben to decode the share', async () => (await framesFrom(b, aid, 'screen')) > 20, 20_000, 250);
    // The sender's encoders: the share as one full-resolution layer with the text content hint; the
    // camera as simulcast layers.
    const sent = await sendInfo(a);
    const screen = sent.find((x) => x.source === 'screen')!;
    assert.equal(screen.contentHint, 'text');
    assert.equal(screen.encodings.length, 1, 'one layer');
    assert.ok(screen.width! >= 1280, `the fake screen is ${screen.width}×${screen.height}`);
    const stat = await waitFor(
      'the share at full resolution',
      async () =>
        (await inboundStats(b)).find(
          (s) => s.source === 'screen' && s.frameWidth === screen.width && s.frameHeight === screen.height,
        ),
      20_000,
      250,
    );
    assert.equal(stat.participantId, aid);
    const camera = sent.find((x) => x.source === 'camera')!;
    assert.ok(
      camera.encodings.length >= 2 && camera.encodings.every((e) => e.scalabilityMode === 'L1T3'),
      `camera simulcast: ${JSON.stringify(camera.encodings)}`,
    );
    await waitFor(
      "Ben's camera of Ada still playing too",
      async () => (await framesFrom(b, aid, 'camera')) > 10,
      10_000,
    );

    await a.click('#screen-toggle');
    await waitFor("the share to disappear on Ben's page", async () => (await b.locator(share).count()) === 0, 5_000);
    assert.equal((await inboundStats(b)).filter((s) => s.source === 'screen').length, 0);
    await waitFor(
      'the announcement',
      async () => (await b.locator('#announcer').textContent())!.includes('Ada stopped sharing'),
      5_000,
    );
  });
});
