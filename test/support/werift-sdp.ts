/**
 * What the werift participants (werift-peer.ts: Opus; werift-video.ts: VP8) share: a peer connection that
 * gathers on loopback only, its DTLS fingerprint, and the remote answer written from the transport
 * parameters the edge returns. mediasoup is ICE-lite and has no SDP; like mediasoup-client, we write the
 * answer ourselves (the shape proven by ../shared/tools/mediasoup-proof). And the signaling steps of
 * publishing or receiving one track, which are the same for both.
 */
import { RTCPeerConnection, type RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';
import type { TransportOptions } from '../../shared/media-types.ts';
import { waitFor } from './poll.ts';
import type { SignalingClient } from './signaling-client.ts';

export const IP = '127.0.0.1';

/** The router's payload type for `mimeType` (e.g. audio/opus), which the peer must use. */
export function payloadTypeOf(
  routerRtpCapabilities: { codecs?: { mimeType: string; preferredPayloadType?: number }[] },
  mimeType: string,
): number {
  const pt = routerRtpCapabilities.codecs?.find(
    (c) => c.mimeType.toLowerCase() === mimeType.toLowerCase(),
  )?.preferredPayloadType;
  if (pt === undefined) throw new Error(`the router offers no ${mimeType}`);
  return pt;
}

/** A peer connection with one codec, gathering on loopback only. */
export function loopbackPeer(codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] }) {
  return new RTCPeerConnection({
    codecs,
    headerExtensions: { audio: [], video: [] },
    // werift falls back to a public STUN server when none is given: point it at loopback instead.
    iceServers: [{ urls: `stun:${IP}:3478` }],
    iceStunGatherTimeout: 1,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [IP],
  });
}

export async function localFingerprint(pc: RTCPeerConnection) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitFor('werift ICE gathering', () => pc.iceGatheringState === 'complete', 10_000);
  const m = /a=fingerprint:(\S+) (\S+)/.exec(pc.localDescription!.sdp);
  if (!m) throw new Error('werift offer has no fingerprint');
  return { algorithm: m[1]!, value: m[2]! };
}

/** The media line of the answer: `audio`/`video`, its payload type, rtpmap and rtcp-fb values. */
export interface AnswerMedia {
  kind: 'audio' | 'video';
  pt: number;
  rtpmap: string;
  feedback?: readonly string[];
}

/** The remote (mediasoup, ICE-lite) answer for a one-m-line offer. */
export function answerSdp(
  t: TransportOptions,
  media: AnswerMedia,
  direction: 'recvonly' | 'sendonly',
  ssrc?: number,
): string {
  const fp = t.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  const cand = t.iceCandidates.find((c) => c.protocol === 'udp')!;
  const { kind, pt } = media;
  return [
    'v=0',
    `o=mediasoup 1 1 IN IP4 ${IP}`,
    's=-',
    't=0 0',
    'a=ice-lite',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS *',
    `a=fingerprint:sha-256 ${fp.value}`,
    `m=${kind} ${cand.port} UDP/TLS/RTP/SAVPF ${pt}`,
    `c=IN IP4 ${IP}`,
    'a=mid:0',
    `a=ice-ufrag:${t.iceParameters.usernameFragment}`,
    `a=ice-pwd:${t.iceParameters.password}`,
    'a=setup:passive',
    `a=${direction}`,
    'a=rtcp-mux',
    `a=rtpmap:${pt} ${media.rtpmap}`,
    ...(media.feedback ?? []).map((f) => `a=rtcp-fb:${pt} ${f}`),
    ...(ssrc ? ['a=msid:ms-stream ms-track', `a=ssrc:${ssrc} cname:mediasoup`] : []),
    `a=candidate:${cand.foundation} 1 udp ${cand.priority} ${cand.address} ${cand.port} typ host`,
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

/** The codec of the one track a werift participant sends or receives, as the edge's protocol names it. */
export type TrackCodec = {
  mimeType: string;
  clockRate: number;
  payloadType: number;
  channels?: number;
  rtcpFeedback?: { type: string; parameter?: string }[];
};

/**
 * The signaling steps of a peer that sends one track: a send transport, DTLS with the peer's fingerprint,
 * produce with the transceiver's SSRC, the answer, and connected.
 */
export async function publishThrough(
  client: SignalingClient,
  pc: RTCPeerConnection,
  tx: RTCRtpTransceiver,
  track: { source: 'microphone' | 'camera'; codec: TrackCodec; media: AnswerMedia },
): Promise<{ producerId: string; transportId: string }> {
  const t = await client.request('createTransport', { direction: 'send' });
  await connectPeer(client, pc, t.id);
  const { producerId } = await client.request('produce', {
    transportId: t.id,
    kind: track.media.kind,
    source: track.source,
    rtpParameters: { codecs: [track.codec], encodings: [{ ssrc: tx.sender.ssrc }] },
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, track.media, 'recvonly') });
  await waitFor('the sending peer to connect', () => pc.connectionState === 'connected', 15_000);
  return { producerId, transportId: t.id };
}

/**
 * The signaling steps of a peer that receives one producer: a recv transport, DTLS, consume with the one
 * codec, the answer with the consumer's SSRC, and connected. The consumer is still paused.
 */
export async function subscribeThrough(
  client: SignalingClient,
  pc: RTCPeerConnection,
  producerId: string,
  track: { codec: TrackCodec; media: AnswerMedia },
  /** `paused: false`: ask for a consumer that runs at once (audio only, shared/signaling.ts). */
  opts: { paused?: boolean } = {},
) {
  const t = await client.request('createTransport', { direction: 'recv' });
  await connectPeer(client, pc, t.id);
  const { payloadType, ...codec } = track.codec;
  const consumer = await client.request('consume', {
    transportId: t.id,
    producerId,
    rtpCapabilities: {
      codecs: [{ kind: track.media.kind, preferredPayloadType: payloadType, rtcpFeedback: [], ...codec }],
      headerExtensions: [],
    },
    ...(opts.paused !== undefined ? { paused: opts.paused } : {}),
  });
  const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(t, track.media, 'sendonly', ssrc) });
  await waitFor('the receiving peer to connect', () => pc.connectionState === 'connected', 15_000);
  return { transportId: t.id, consumerId: consumer.consumerId, ssrc, paused: consumer.paused };
}

async function connectPeer(client: SignalingClient, pc: RTCPeerConnection, transportId: string): Promise<void> {
  const fingerprint = await localFingerprint(pc);
  await client.request('connectTransport', {
    transportId,
    dtlsParameters: { role: 'client', fingerprints: [fingerprint] },
  });
}
