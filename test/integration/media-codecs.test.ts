/**
 * The router's codecs as the real mediasoup worker makes them (issue 13, "Bad networks";
 * shared/media-codecs.ts): Opus with in-band FEC and DTX, video with NACK, PLI and an RTX codec, the
 * transport-wide congestion control extension for the bandwidth estimate that picks simulcast layers.
 * And RED (audio/red) refused: when a mediasoup upgrade accepts it, this test says it is time to offer it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { settleWorkerBinary } from '../../media-node/worker-binary.ts';
import { routerMediaCodecs } from '../../shared/media-codecs.ts';

settleWorkerBinary();
const mediasoup = await import('mediasoup');
type RtpCodecCapability = import('mediasoup').types.RouterRtpCodecCapability;

describe('router codecs', () => {
  let worker: Awaited<ReturnType<typeof mediasoup.createWorker>>;
  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'error' });
  });
  after(() => worker?.close());

  test('Opus with FEC and DTX; VP8 and H264 with NACK, PLI and RTX; transport-cc', async () => {
    const router = await worker.createRouter({
      mediaCodecs: routerMediaCodecs as unknown as RtpCodecCapability[],
    });
    const codecs = router.rtpCapabilities.codecs ?? [];
    const opus = codecs.find((c) => c.mimeType === 'audio/opus');
    assert.deepEqual(opus?.parameters, { useinbandfec: 1, usedtx: 1 });
    for (const mime of ['video/VP8', 'video/H264']) {
      const video = codecs.find((c) => c.mimeType === mime);
      assert.ok(video, mime);
      const fb = (video.rtcpFeedback ?? []).map((f) => `${f.type}${f.parameter ? ` ${f.parameter}` : ''}`);
      for (const want of ['nack', 'nack pli', 'transport-cc']) assert.ok(fb.includes(want), `${mime}: ${want}`);
      assert.ok(
        codecs.some((c) => c.mimeType === 'video/rtx' && c.parameters?.apt === video.preferredPayloadType),
        `${mime}: an RTX codec`,
      );
    }
    assert.ok(
      (router.rtpCapabilities.headerExtensions ?? []).some(
        (h) => h.kind === 'video' && h.uri.endsWith('transport-wide-cc-extensions-01'),
      ),
      'transport-wide-cc for video',
    );
    router.close();
  });

  test('mediasoup refuses RED (versatica/mediasoup#481), so the router does not offer it', async () => {
    await assert.rejects(
      worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/red', clockRate: 48000, channels: 2 }] }),
      /not supported/,
    );
  });
});
