/**
 * Scripted VP8 video participants on werift (real ICE, DTLS and SRTP with the media node), for tests
 * of how the SFU asks for key frames: a publisher that answers every key frame request (RTCP PLI) with
 * a key frame, as a browser's encoder does, and logs when each request came; and a receiver whose
 * consumer stays paused until the test resumes it, counting the key frames it gets. The frames are
 * synthetic: one RTP packet each, a VP8 payload descriptor and just enough of a VP8 header for mediasoup
 * to tell a key frame (RFC 7741 §4.2 and §4.3; mediasoup's worker/src/RTC/RTP/Codecs/VP8.cpp).
 * The audio twin is werift-peer.ts.
 */
import { performance } from 'node:perf_hooks';
import { MediaStreamTrack, RTCRtpCodecParameters } from 'werift';
import type { TransportOptions } from '../../shared/media-types.ts';
import type { SignalingClient } from './signaling-client.ts';
import { waitFor } from './poll.ts';
import { answerSdp as answerFor, localFingerprint, loopbackPeer, payloadTypeOf } from './werift-sdp.ts';

export const vp8PayloadType = (caps: Parameters<typeof payloadTypeOf>[0]) => payloadTypeOf(caps, 'video/vp8');

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

const newPeer = (pt: number) =>
  loopbackPeer({
    audio: [],
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: pt, rtcpFeedback: FEEDBACK }),
    ],
  });

/** The remote (mediasoup, ICE-lite) answer for a one-m-line video offer. */
const answerSdp = (t: TransportOptions, pt: number, direction: 'recvonly' | 'sendonly', ssrc?: number) =>
  answerFor(t, { kind: 'video', pt, rtpmap: 'VP8/90000', feedback: ['nack', 'nack pli'] }, direction, ssrc);

/** One RTP packet carrying a whole (tiny, not decodable) VP8 frame. */
function vp8Frame(seq: number, timestamp: number, key: boolean): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80; // version 2
  header[1] = 0x80; // marker: the frame ends here (the payload type is set by werift)
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  // Payload descriptor: S (start of a partition), partition 0. Then the frame tag, whose lowest bit is
  // 0 for a key frame; a key frame goes on with the start code and a 16×16 size.
  const payload = key
    ? Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00])
    : Buffer.from([0x10, 0x11, 0x02, 0x00]);
  return Buffer.concat([header, payload]);
}

export function isVp8KeyFrame(payload: Buffer): boolean {
  return payload.length >= 2 && (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0 && (payload[1]! & 0x01) === 0;
}

/**
 * Publishes a VP8 "camera": a key frame first and whenever a PLI comes, a delta frame every 50 ms in
 * between. `plis` holds when each PLI arrived (performance.now()).
 */
export async function publishVideo(client: SignalingClient, pt: number) {
  const t = await client.request('createTransport', { direction: 'send' });
  const pc = newPeer(pt);
  const track = new MediaStreamTrack({ kind: 'video' });
  const tx = pc.addTransceiver(track, { direction: 'sendonly' });
  const fingerprint = await localFingerprint(pc);
  await client.request('connectTransport', {
    transportId: t.id,
    dtlsParameters: { role: 'client', fingerprints: [fingerprint] },
  });
  const { producerId } = await client.request('produce', {
    transportId: t.id,
    kind: 'video',
    source: 'camera',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: pt, rtcpFeedback: FEEDBACK }],
      encodings: [{ ssrc: tx.sender.ssrc }],
    },
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, pt, 'recvonly') });
  await waitFor('the sending peer to connect', () => pc.connectionState === 'connected', 15_000);
  const plis: number[] = [];
  let seq = 1;
  let ts = 0;
  const send = (key: boolean) => {
    ts += 4500;
    track.writeRtp(vp8Frame(seq++, ts, key));
  };
  tx.sender.onPictureLossIndication.subscribe(() => {
    plis.push(performance.now());
    send(true);
  });
  send(true);
  const timer = setInterval(() => send(false), 50);
  return {
    producerId,
    plis,
    close: async () => {
      clearInterval(timer);
      await pc.close();
    },
  };
}

/**
 * A receiver of one video producer, connected (ICE and DTLS) but with its consumer still paused: the
 * test resumes it (resumeConsumer). Counts the packets and the key frames that arrive.
 */
export async function prepareVideoReceiver(client: SignalingClient, pt: number, producerId: string) {
  const t = await client.request('createTransport', { direction: 'recv' });
  const pc = newPeer(pt);
  const tx = pc.addTransceiver('video', { direction: 'recvonly' });
  const received = { packets: 0, keyFrames: 0 };
  tx.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp) => {
      received.packets++;
      if (isVp8KeyFrame(rtp.payload)) received.keyFrames++;
    }),
  );
  const fingerprint = await localFingerprint(pc);
  await client.request('connectTransport', {
    transportId: t.id,
    dtlsParameters: { role: 'client', fingerprints: [fingerprint] },
  });
  const consumer = await client.request('consume', {
    transportId: t.id,
    producerId,
    rtpCapabilities: {
      codecs: [
        {
          kind: 'video',
          mimeType: 'video/VP8',
          preferredPayloadType: pt,
          clockRate: 90000,
          rtcpFeedback: FEEDBACK,
        },
      ],
      headerExtensions: [],
    },
  });
  const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, pt, 'sendonly', ssrc) });
  await waitFor('the receiving peer to connect', () => pc.connectionState === 'connected', 15_000);
  return {
    consumerId: consumer.consumerId,
    received,
    resume: () => client.request('resumeConsumer', { consumerId: consumer.consumerId }),
    close: () => pc.close(),
  };
}
