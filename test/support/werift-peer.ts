/**
 * A non-browser WebRTC participant built on werift (a WebRTC stack in TypeScript nobody here wrote). It
 * does real ICE, DTLS and SRTP with the media node's WebRtcServer, through the edge's signaling: the
 * scripted client of the integration tests and of the join benchmark. Audio only (Opus).
 *
 * The peer connection and SDP answer are werift-sdp.ts's, shared with the VP8 twin (werift-video.ts).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { MediaStreamTrack, RTCRtpCodecParameters } from 'werift';
import type { SignalingClient } from './signaling-client.ts';
import { IP, loopbackPeer, payloadTypeOf, publishThrough, subscribeThrough } from './werift-sdp.ts';

export const opusPayloadType = (caps: Parameters<typeof payloadTypeOf>[0]) => payloadTypeOf(caps, 'audio/opus');

const newPeer = (pt: number) =>
  loopbackPeer({
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: pt })],
    video: [],
  });

const opusCodec = (pt: number) => ({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: pt });
const opusMedia = (pt: number) => ({ kind: 'audio' as const, pt, rtpmap: 'opus/48000/2' });

/** Publishes an Opus track through a send transport; returns the producer id and a way to feed RTP. */
export async function publishAudio(client: SignalingClient, pt: number) {
  const pc = newPeer(pt);
  const track = new MediaStreamTrack({ kind: 'audio' });
  const tx = pc.addTransceiver(track, { direction: 'sendonly' });
  const { producerId, transportId } = await publishThrough(client, pc, tx, {
    source: 'microphone',
    codec: opusCodec(pt),
    media: opusMedia(pt),
  });
  return { pc, producerId, transportId, writeRtp: (packet: Buffer) => track.writeRtp(packet) };
}

/** Receives one producer through a recv transport; counts the RTP packets werift decrypts. */
/** `paused: false`: the consumer is asked to run at once, and resumed only if the edge made it paused. */
export async function receiveAudio(
  client: SignalingClient,
  pt: number,
  producerId: string,
  opts: { paused?: boolean } = {},
) {
  const pc = newPeer(pt);
  const tx = pc.addTransceiver('audio', { direction: 'recvonly' });
  // lastAt and maxGapMs (performance.now()): how long RTP ever stopped (benchmarks reset maxGapMs to 0).
  const received = { packets: 0, ssrc: 0, lastAt: 0, maxGapMs: 0 };
  tx.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp) => {
      const now = performance.now();
      if (received.packets > 0) received.maxGapMs = Math.max(received.maxGapMs, now - received.lastAt);
      received.lastAt = now;
      received.packets++;
      received.ssrc = rtp.header.ssrc;
    }),
  );
  const { transportId, consumerId, ssrc, paused } = await subscribeThrough(
    client,
    pc,
    producerId,
    { codec: opusCodec(pt), media: opusMedia(pt) },
    opts,
  );
  const resumes = paused === false ? 0 : 1;
  if (resumes) await client.request('resumeConsumer', { consumerId });
  return { pc, transportId, consumerId, ssrc, received, resumes };
}

/**
 * Real Opus RTP from ffmpeg (a sine tone), fed into `write` for `seconds` (or until `stop` aborts).
 * Resolves with the packet count.
 */
export async function ffmpegOpus(
  pt: number,
  seconds: number,
  write: (packet: Buffer) => void,
  stop?: AbortSignal,
): Promise<number> {
  const sock = createSocket('udp4');
  let packets = 0;
  sock.on('message', (msg) => {
    packets++;
    write(msg);
  });
  await new Promise<void>((r) => sock.bind(0, IP, () => r()));
  const ff = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:a',
      'libopus',
      '-ac',
      '2',
      '-b:a',
      '64k',
      '-payload_type',
      String(pt),
      '-f',
      'rtp',
      `rtp://${IP}:${sock.address().port}?pkt_size=1200`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ff.stderr.on('data', (d) => (stderr += d));
  const onStop = () => ff.kill('SIGTERM');
  stop?.addEventListener('abort', onStop, { once: true });
  const code = await new Promise<number | null>((r) => ff.on('exit', r));
  stop?.removeEventListener('abort', onStop);
  sock.close();
  if (code !== 0 && !stop?.aborted) throw new Error(`ffmpeg failed (${code}): ${stderr}`);
  return packets;
}
