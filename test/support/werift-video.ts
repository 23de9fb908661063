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
import type { SignalingClient } from './signaling-client.ts';
import { loopbackPeer, payloadTypeOf, publishThrough, subscribeThrough } from './werift-sdp.ts';

export const vp8PayloadType = (caps: Parameters<typeof payloadTypeOf>[0]) => payloadTypeOf(caps, 'video/vp8');

const FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

const newPeer = (pt: number) =>
  loopbackPeer({
    audio: [],
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: pt, rtcpFeedback: FEEDBACK }),
    ],
  });

const vp8Codec = (pt: number) => ({ mimeType: 'video/VP8', clockRate: 90000, payloadType: pt, rtcpFeedback: FEEDBACK });
const vp8Media = (pt: number) => ({ kind: 'video' as const, pt, rtpmap: 'VP8/90000', feedback: ['nack', 'nack pli'] });

/**
 * The payload of a whole (tiny, not decodable) VP8 frame. Payload descriptor: S (start of a partition),
 * partition 0. Then the frame tag, whose lowest bit is 0 for a key frame; a key frame goes on with the
 * start code and a 16×16 size.
 */
export function vp8Payload(key: boolean): Buffer {
  return key
    ? Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00])
    : Buffer.from([0x10, 0x11, 0x02, 0x00]);
}

/** One RTP packet carrying a whole VP8 frame (payload type and SSRC 0: werift sets them). */
export function vp8Frame(seq: number, timestamp: number, key: boolean, pt = 0, ssrc = 0): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80; // version 2
  header[1] = 0x80 | pt; // marker: the frame ends here
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, vp8Payload(key)]);
}

export function isVp8KeyFrame(payload: Buffer): boolean {
  return payload.length >= 2 && (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0 && (payload[1]! & 0x01) === 0;
}

/**
 * Publishes a VP8 "camera": a key frame first and whenever a PLI comes, a delta frame every 50 ms in
 * between. `plis` holds when each PLI arrived (performance.now()).
 */
export async function publishVideo(client: SignalingClient, pt: number) {
  const pc = newPeer(pt);
  const track = new MediaStreamTrack({ kind: 'video' });
  const tx = pc.addTransceiver(track, { direction: 'sendonly' });
  const { producerId } = await publishThrough(client, pc, tx, {
    source: 'camera',
    codec: vp8Codec(pt),
    media: vp8Media(pt),
  });
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
export async function prepareVideoReceiver(
  client: SignalingClient,
  pt: number,
  producerId: string,
  opts: { paused?: boolean } = {},
) {
  const pc = newPeer(pt);
  const tx = pc.addTransceiver('video', { direction: 'recvonly' });
  const received = { packets: 0, keyFrames: 0 };
  tx.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp) => {
      received.packets++;
      if (isVp8KeyFrame(rtp.payload)) received.keyFrames++;
    }),
  );
  const { consumerId, paused } = await subscribeThrough(
    client,
    pc,
    producerId,
    { codec: vp8Codec(pt), media: vp8Media(pt) },
    opts,
  );
  return {
    consumerId,
    paused,
    received,
    resume: () => client.request('resumeConsumer', { consumerId }),
    close: () => pc.close(),
  };
}
