/**
 * A simulcast consumer's first picture comes from the lowest layer, and the wished layer is taken after it
 * (media-node/first-picture-layers.ts, issue 14), with the real mediasoup worker.
 *
 * The sender here behaves as a browser whose new send path is short of bandwidth: it sent a key frame on
 * both simulcast layers, goes on sending the upper layer's delta frames, but answers key frame requests
 * (RTCP PLI) only on the lowest layer. A consumer aimed at the upper layer from the start (mediasoup's
 * default, or the client's wish) then gets nothing at all; one started on the lowest layer gets its
 * picture, keeps it while it waits for the upper layer, and switches up on the upper layer's next key
 * frame. The sender and the receiver are UDP sockets of this test on loopback, through PlainTransports
 * (RTP and RTCP muxed); the frames are the synthetic VP8 frames of werift-video.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { types } from 'mediasoup';
import { settleWorkerBinary } from '../../media-node/worker-binary.ts';
import { FIRST_PICTURE_LAYERS, FirstPictureLayers } from '../../media-node/first-picture-layers.ts';
import { routerMediaCodecs } from '../../shared/media-codecs.ts';
import { waitFor } from '../support/poll.ts';
import { vp8Frame } from '../support/werift-video.ts';

settleWorkerBinary();
const mediasoup = await import('mediasoup');

const PT = 101;
const LOW = 0x1111_0000;
const HIGH = 0x2222_0000;

/** Media SSRCs of the PLIs in an RTCP (compound) packet. */
function pliTargets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 12 <= buf.length; ) {
    const fmt = buf[at]! & 0x1f;
    const type = buf[at + 1]!;
    if (type === 206 && fmt === 1) out.push(buf.readUInt32BE(at + 8));
    at += (buf.readUInt16BE(at + 2) + 1) * 4;
  }
  return out;
}

/** An RTCP Sender Report: mediasoup aligns the layers' timestamps by them before it switches layers. */
function senderReport(ssrc: number, rtpTs: number, packets: number): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80; // version 2, no report blocks
  sr[1] = 200;
  sr.writeUInt16BE(6, 2); // length in 32-bit words, less one
  sr.writeUInt32BE(ssrc >>> 0, 4);
  const now = Date.now() / 1000 + 2_208_988_800; // NTP time
  sr.writeUInt32BE(Math.floor(now) >>> 0, 8);
  sr.writeUInt32BE(Math.floor((now % 1) * 2 ** 32) >>> 0, 12);
  sr.writeUInt32BE(rtpTs >>> 0, 16);
  sr.writeUInt32BE(packets, 20);
  sr.writeUInt32BE(packets * 16, 24);
  return sr;
}

const bound = (s: Socket) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));

/**
 * The sender: both layers' frames every 50 ms, and their Sender Reports; key frames on request for the
 * lowest layer only.
 */
async function simulcastSender(port: number) {
  const socket = createSocket('udp4');
  await bound(socket);
  const seq: Record<number, number> = { [LOW]: 1, [HIGH]: 1 };
  let ts = 0;
  const plis: number[] = [];
  const send = (ssrc: number, key: boolean) =>
    socket.send(vp8Frame(seq[ssrc]!++, ts, key, PT, ssrc), port, '127.0.0.1');
  socket.on('message', (msg) => {
    for (const ssrc of pliTargets(msg)) {
      plis.push(ssrc);
      if (ssrc === LOW) send(LOW, true);
    }
  });
  send(LOW, true);
  send(HIGH, true);
  let frames = 0;
  const timer = setInterval(() => {
    ts += 4500;
    send(LOW, false);
    send(HIGH, false);
    // A Sender Report per layer every 4 frames (a browser sends about one a second).
    if (++frames % 4 === 0)
      for (const ssrc of [LOW, HIGH]) socket.send(senderReport(ssrc, ts, seq[ssrc]!), port, '127.0.0.1');
  }, 50);
  return {
    plis,
    /** A key frame on the upper layer, as when the sender's bandwidth estimate has grown. */
    highKeyFrame: () => send(HIGH, true),
    close: () => {
      clearInterval(timer);
      socket.close();
    },
  };
}

/**
 * The receiver: counts the RTP packets of the consumer's stream (`ssrc`, set once it is made), not
 * RTCP and not mediasoup's bandwidth probes (RTP of their own SSRC).
 */
async function receiver() {
  const socket = createSocket('udp4');
  await bound(socket);
  const got = { rtp: 0, ssrc: -1 };
  socket.on('message', (msg) => {
    const rtcp = msg[1]! >= 192 && msg[1]! <= 223; // RTCP packet types (RFC 5761 §4)
    if (!rtcp && msg.length >= 12 && msg.readUInt32BE(8) === got.ssrc) got.rtp++;
  });
  return { port: socket.address().port, got, close: () => socket.close() };
}

describe('a simulcast consumer starts on the lowest layer', () => {
  let worker: Awaited<ReturnType<typeof mediasoup.createWorker>>;
  let router: types.Router;
  let producer: types.Producer;
  let sender: Awaited<ReturnType<typeof simulcastSender>>;
  const closers: (() => void)[] = [];

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'error' });
    router = await worker.createRouter({
      mediaCodecs: routerMediaCodecs as unknown as types.RouterRtpCodecCapability[],
    });
    const inbound = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: true,
    });
    producer = await inbound.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [
          {
            mimeType: 'video/VP8',
            payloadType: PT,
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
          },
        ],
        encodings: [{ ssrc: LOW }, { ssrc: HIGH }],
        rtcp: { cname: 'first-picture', reducedSize: true },
      },
    });
    assert.equal(producer.type, 'simulcast');
    assert.ok(FirstPictureLayers.applies(producer));
    sender = await simulcastSender(inbound.tuple.localPort);
    // Both layers are known to mediasoup before anyone consumes, as after a browser's first key frames.
    await waitFor('both layers at the producer', async () => (await producer.getStats()).length === 2);
  });
  after(() => {
    for (const close of closers) close();
    sender?.close();
    worker?.close();
  });

  async function consumer(preferredLayers?: types.ConsumerLayers) {
    const out = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true });
    const rx = await receiver();
    closers.push(() => rx.close());
    await out.connect({ ip: '127.0.0.1', port: rx.port });
    const c = await out.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
      paused: true,
      ...(preferredLayers ? { preferredLayers } : {}),
    });
    rx.got.ssrc = c.rtpParameters.encodings?.[0]?.ssrc ?? -1;
    const layers: (types.ConsumerLayers | undefined)[] = [];
    c.on('layerschange', (l) => layers.push(l));
    return { c, rx, layers };
  }

  test("the client's wish waits for the first picture, then the upper layer's key frame switches up", async () => {
    const gate = new FirstPictureLayers();
    const { c, rx, layers } = await consumer(FIRST_PICTURE_LAYERS);
    gate.watch(c);
    await gate.setPreferred(c, { spatialLayer: 1 });
    assert.ok(gate.waiting(c), 'the wish is kept until the first picture');
    assert.equal(c.preferredLayers?.spatialLayer, 0, 'not applied yet');
    await c.resume();

    await waitFor('the first packets at the receiver', () => rx.got.rtp >= 3);
    assert.equal(layers[0]?.spatialLayer, 0, 'the first picture is from the lowest layer');
    await waitFor('the wish applied', () => c.preferredLayers?.spatialLayer === 1);
    assert.equal(gate.waiting(c), false);
    // Aimed at the upper layer now: mediasoup asks it for a key frame, and the lowest keeps flowing.
    await waitFor('a key frame asked of the upper layer', () => sender.plis.includes(HIGH));
    const flowing = rx.got.rtp;
    await waitFor('packets while the upper layer has no key frame', () => rx.got.rtp > flowing + 3);
    assert.equal(c.currentLayers?.spatialLayer, 0);

    sender.highKeyFrame();
    await waitFor('switched to the upper layer', () => c.currentLayers?.spatialLayer === 1);
  });

  test('without a wish, the top layer is wished once the first picture is out', async () => {
    const gate = new FirstPictureLayers();
    const { c, rx, layers } = await consumer(FIRST_PICTURE_LAYERS);
    gate.watch(c);
    await c.resume();
    await waitFor('the first packets at the receiver', () => rx.got.rtp >= 3);
    assert.equal(layers[0]?.spatialLayer, 0);
    await waitFor('the top layer wished', () => c.preferredLayers?.spatialLayer === 1);
  });

  test("mediasoup's default (aimed at the upper layer from the start) gets nothing from this sender", async () => {
    // Why the gate exists. What is asserted is an absence, so it is bounded by what a second, gated
    // consumer resumed at the same moment sends meanwhile: both are offered the same packets.
    const aimed = await consumer();
    const gated = await consumer(FIRST_PICTURE_LAYERS);
    new FirstPictureLayers().watch(gated.c);
    await Promise.all([aimed.c.resume(), gated.c.resume()]);
    // 20 frames of the lowest layer (a second of video) went out to the gated one meanwhile.
    await waitFor('the gated consumer sends a second of video', () => gated.rx.got.rtp >= 20);
    assert.equal(aimed.rx.got.rtp, 0, 'the consumer aimed at the upper layer sent nothing');
    assert.equal(aimed.c.currentLayers, undefined);
  });
});
