/**
 * Bad networks (issue 13): the pages run in a network namespace (test/support/lossy-stack.ts) whose
 * incoming UDP is dropped at random (nftables) or rate-capped (tc tbf); the stack stays on the host.
 * - With 10 % random loss on Ben's downlink, his audio from Ada stays mostly real sound: concealment
 *   below CONCEALMENT_BOUND over 20 s once the sender protects it (Opus in-band FEC, the sender told of
 *   Ben's loss by the SFU). Without the protection (?audio=plain) the same loss conceals about as much as
 *   it drops (npm run bench:loss, docs/benchmarks.md), above the bound.
 * - Video packets lost on the way are asked for again (NACK) and resent (RTX), so the picture keeps
 *   decoding.
 * - A receiver whose downlink is capped to 500 kbit/s while he watches Ada's camera in the speaker view
 *   (top layer) gets a lower layer from the SFU: its bandwidth estimate, not only the tile size, picks it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inboundStats, joinMeeting, participantId } from '../support/browser.ts';
import {
  afterAudio,
  concealedShare,
  type LossyStack,
  sentLayer,
  startLossyStack,
  statOf,
} from '../support/lossy-stack.ts';
import { waitFor } from '../support/poll.ts';

/**
 * Concealed share of the audio at 10 % loss that the protection keeps us under. Measured here on a loaded
 * machine: 5.3 % protected, 11.2 % plain; after a longer time at the loss 2.2 % and 11 %
 * (docs/benchmarks.md). TREFFPUNKT_TEST_AUDIO=plain runs the test without the protection, to see it fail.
 */
const CONCEALMENT_BOUND = 0.075;
const AUDIO_QUERY = process.env.TREFFPUNKT_TEST_AUDIO === 'plain' ? '&audio=plain' : '';

describe('bad networks: random loss and a rate cap on the receiver', () => {
  let lossy: LossyStack;
  before(async () => {
    lossy = await startLossyStack();
  });
  after(async () => {
    await lossy?.stop();
  });

  const meeting = async (name: string, adaQuery: string) => {
    const { chromium, edgeUrl } = lossy;
    const [ada, ben] = [await chromium.newPage(), await chromium.newPage()];
    await joinMeeting(ada, edgeUrl, name, 'Ada', { query: adaQuery });
    await joinMeeting(ben, edgeUrl, name, 'Ben', { query: '?video=360', camera: false, microphone: false });
    const aid = await participantId(ada);
    await waitFor(
      "Ben to decode Ada's camera",
      async () => (await statOf(ben, aid, 'camera')).framesDecoded > 10,
      60_000,
      250,
    );
    return { ben, aid, close: () => Promise.all([ada.context().close(), ben.context().close()]) };
  };

  test('with 10 % loss audio is protected and video is repaired', async (t) => {
    const room = `loss-${Date.now()}`;
    lossy.net.setLoss(0);
    const { ben, aid, close } = await meeting(room, `?video=360${AUDIO_QUERY}`);
    lossy.net.setLoss(10);
    try {
      // The sender learns of the loss from the SFU's receiver reports and averages it over ~10 s
      // (libwebrtc's Opus encoder) before it protects its audio: 10-15 s, later on a loaded machine (a
      // fixed 15 s let one run judge a window still mostly unprotected, 8.7 %). So it waits until a 3 s
      // window conceals less than half of what it lost (at most 45 s of audio), then judges the next 20 s.
      let heard = 0;
      for (let engaged = false; !engaged && heard < 45; heard += 3) {
        const w0 = await statOf(ben, aid, 'microphone');
        const w1 = await afterAudio(ben, aid, 3);
        const wLost = w1.packetsLost - w0.packetsLost;
        const wShare = wLost / Math.max(1, wLost + w1.packetsReceived - w0.packetsReceived);
        engaged = heard >= 6 && concealedShare(w0, w1) < wShare / 2;
      }
      const [a0, v0] = [await statOf(ben, aid, 'microphone'), await statOf(ben, aid, 'camera')];
      const a1 = await afterAudio(ben, aid, 20);
      const v1 = await statOf(ben, aid, 'camera');
      const lost = a1.packetsLost - a0.packetsLost;
      const received = a1.packetsReceived - a0.packetsReceived;
      assert.ok(lost > 0.05 * (lost + received), `the line loses audio packets (${lost} of ${lost + received})`);
      const concealed = concealedShare(a0, a1);
      assert.ok(
        concealed < CONCEALMENT_BOUND,
        `concealed ${(100 * concealed).toFixed(2)} % of the audio, bound ${100 * CONCEALMENT_BOUND} %`,
      );
      assert.ok(v1.nackCount > v0.nackCount, 'lost video packets were asked for again (NACK)');
      assert.ok(v1.framesDecoded > v0.framesDecoded + 100, 'the picture kept decoding');
      t.diagnostic(
        `concealed ${(100 * concealed).toFixed(2)} % at ${((100 * lost) / (lost + received)).toFixed(1)} % loss, ` +
          `protection seen after ${heard} s`,
      );
    } finally {
      lossy.net.setLoss(0);
      await close();
    }
  });

  test('under a 500 kbit/s cap the receiver gets a lower simulcast layer', async () => {
    const room = `cap-${Date.now()}`;
    const { ben, aid, close } = await meeting(room, '?video=720');
    await ben.click('#view-toggle');
    const { consumerId } = await statOf(ben, aid, 'camera');
    await waitFor(
      'the SFU to send the top layer to the spotlight',
      async () => (await sentLayer(lossy.stack, room, consumerId)) === 2,
      120_000,
      250,
    );
    const before = (await statOf(ben, aid, 'camera')).frameHeight;
    lossy.net.setRateCap(500);
    try {
      await waitFor(
        'the SFU to send a lower layer under the cap',
        async () => ((await sentLayer(lossy.stack, room, consumerId)) ?? 2) < 2,
        90_000,
        250,
      );
      await waitFor(
        "Ben's decoder to show the smaller picture",
        async () => {
          const s = (await inboundStats(ben)).find((x) => x.consumerId === consumerId);
          return s && s.frameHeight > 0 && s.frameHeight < before;
        },
        60_000,
        250,
      );
    } finally {
      lossy.net.setRateCap(null);
      await close();
    }
  });
});
