/**
 * Statistics of our media, read from the browser's getStats(): what we receive and send, the loss
 * both ways (the connection-quality indicator), and the ICE path each transport uses (tests,
 * diagnostics, benchmarks). Reads only; nothing here changes the media.
 */
import type { types } from 'mediasoup-client';
import type { MediaKind, MediaSource } from '../../../shared/media-types.ts';
import type { RemoteConsumer } from './receiver.ts';
import type { Direction } from './types.ts';

type Report = Record<string, unknown>;
const statsOf = async (x: { getStats(): Promise<RTCStatsReport> }): Promise<Map<string, Report>> =>
  (await x.getStats().catch(() => new Map())) as Map<string, Report>;

/**
 * Whether a consumer has put out media: a decoded video frame, or audio packets received (audio is
 * decoded as it is played out, so its first packets are as far as "decoded" goes). The switch from an
 * old consumer to its replacement (receiver.ts) waits for it.
 */
export async function hasDecoded(consumer: { getStats(): Promise<RTCStatsReport> }, kind: string): Promise<boolean> {
  let decoded = false;
  (await statsOf(consumer)).forEach((r) => {
    if (r.type !== 'inbound-rtp') return;
    if (Number((kind === 'video' ? r.framesDecoded : r.packetsReceived) ?? 0) > 0) decoded = true;
  });
  return decoded;
}

export interface InboundStat {
  participantId: string;
  producerId: string;
  consumerId: string;
  source: MediaSource;
  kind: MediaKind;
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  totalSamplesReceived: number;
  /** Audio samples the decoder had to invent (lost or late packets): concealedSamples / totalSamplesReceived. */
  concealedSamples: number;
  /** Video: how often the picture stood still noticeably (getStats freezeCount). */
  freezeCount: number;
  /** NACKs this receiver sent (video: lost packets asked for again). */
  nackCount: number;
  layer: number | undefined;
}

/** Receive statistics per remote track. */
export async function inboundStats(consumers: ReadonlyMap<string, RemoteConsumer>): Promise<InboundStat[]> {
  const out = [];
  for (const [producerId, { consumer, participantId, kind, source, layer }] of consumers) {
    const s = {
      packetsReceived: 0,
      packetsLost: 0,
      framesDecoded: 0,
      frameWidth: 0,
      frameHeight: 0,
      totalSamplesReceived: 0,
      concealedSamples: 0,
      freezeCount: 0,
      nackCount: 0,
    };
    (await statsOf(consumer)).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      for (const k of [
        'packetsReceived',
        'packetsLost',
        'framesDecoded',
        'totalSamplesReceived',
        'concealedSamples',
        'freezeCount',
        'nackCount',
      ] as const)
        s[k] += Number(r[k] ?? 0);
      s.frameWidth = Math.max(s.frameWidth, Number(r.frameWidth ?? 0));
      s.frameHeight = Math.max(s.frameHeight, Number(r.frameHeight ?? 0));
    });
    out.push({ participantId, producerId, consumerId: consumer.id, source, kind, layer, ...s });
  }
  return out;
}

/**
 * Receive loss per remote participant since the last call (0-1); -1 when nothing arrived in two calls
 * in a row although something should have (`expected` says whether anything should: its owner is
 * here and it is not paused). Each call
 * starts a new measuring window (the counters are kept on the consumers), so one caller only.
 */
export async function receiveLoss(
  consumers: ReadonlyMap<string, RemoteConsumer>,
  expected: (participantId: string, producerId: string) => boolean,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [producerId, c] of consumers) {
    if (!expected(c.participantId, producerId)) continue;
    let received = 0;
    let lost = 0;
    (await statsOf(c.consumer)).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      received += Number(r.packetsReceived ?? 0);
      lost += Number(r.packetsLost ?? 0);
    });
    const last = c.lastPackets;
    c.lastPackets = { received, lost };
    if (!last) continue;
    const dr = received - last.received;
    const dl = Math.max(0, lost - last.lost);
    c.emptyPolls = dr + dl === 0 ? c.emptyPolls + 1 : 0;
    // One quiet poll can be a layer switch or a hiccup; two in a row is a lost stream.
    if (dr + dl === 0 && c.emptyPolls < 2) continue;
    const loss = dr + dl === 0 ? -1 : dl / (dr + dl);
    const prev = out.get(c.participantId);
    out.set(c.participantId, prev === undefined ? loss : loss === -1 || prev === -1 ? -1 : Math.max(prev, loss));
  }
  return out;
}

export interface SendInfo {
  source: MediaSource;
  paused: boolean;
  contentHint: string | undefined;
  width?: number;
  height?: number;
  encodings: { rid?: string; scalabilityMode?: string; maxBitrate?: number; scaleResolutionDownBy?: number }[];
}

/** What we send per source: the negotiated encodings (simulcast layers) and the track's content hint. */
export function sendInfo(producers: ReadonlyMap<MediaSource, types.Producer>): SendInfo[] {
  return [...producers].map(([source, p]) => ({
    source,
    paused: p.paused,
    contentHint: p.track?.contentHint,
    width: p.track?.getSettings().width,
    height: p.track?.getSettings().height,
    encodings: (p.rtpParameters.encodings ?? []).map((e) => ({
      rid: e.rid,
      scalabilityMode: e.scalabilityMode,
      maxBitrate: e.maxBitrate,
      scaleResolutionDownBy: e.scaleResolutionDownBy,
    })),
  }));
}

/**
 * The loss the SFU reports back for what we send (RTCP receiver reports: remote-inbound-rtp
 * fractionLost, 0-1, the worst active stream), or undefined before the first report.
 */
export async function sendLoss(producers: ReadonlyMap<MediaSource, types.Producer>): Promise<number | undefined> {
  let worst: number | undefined;
  for (const p of producers.values()) {
    if (p.paused || !p.track) continue;
    (await statsOf(p)).forEach((r) => {
      if (r.type === 'remote-inbound-rtp' && typeof r.fractionLost === 'number')
        worst = Math.max(worst ?? 0, r.fractionLost);
    });
  }
  return worst;
}

export interface CandidatePair {
  direction: Direction;
  policy: RTCIceTransportPolicy;
  state: string;
  localType?: string;
  remoteType?: string;
  protocol?: string;
  relayProtocol?: string;
}

/** The ICE candidate pair each transport uses (type 'relay' when through TURN; protocol udp/tcp). */
export async function candidatePairs(
  transports: readonly {
    direction: Direction;
    policy: RTCIceTransportPolicy;
    transport: types.Transport | undefined;
  }[],
): Promise<CandidatePair[]> {
  const out = [];
  for (const { direction, policy, transport: tr } of transports) {
    if (!tr) continue;
    const byId = new Map<string, Report>();
    (await statsOf(tr)).forEach((r) => {
      byId.set(String(r.id), r);
    });
    let pairId: string | undefined;
    for (const r of byId.values())
      if (r.type === 'transport' && r.selectedCandidatePairId) pairId = String(r.selectedCandidatePairId);
    if (!pairId)
      for (const r of byId.values())
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pairId = String(r.id);
    const pair = pairId ? byId.get(pairId) : undefined;
    const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
    const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;
    out.push({
      direction,
      policy,
      state: tr.connectionState,
      ...(local
        ? {
            localType: String(local.candidateType),
            protocol: String(local.protocol),
            ...(local.relayProtocol ? { relayProtocol: String(local.relayProtocol) } : {}),
          }
        : {}),
      ...(remote ? { remoteType: String(remote.candidateType) } : {}),
    });
  }
  return out;
}

/**
 * What ICE tried on a transport, one line per candidate pair ("host/udp → host/udp: failed"), and the
 * local candidate types gathered: the diagnostics behind "the network probably blocks media". A relay
 * type missing from the gathered ones means the TURN server itself was not reached.
 */
export async function triedPaths(tr: types.Transport): Promise<{ gathered: string[]; pairs: string[] }> {
  const byId = new Map<string, Report>();
  (await statsOf(tr)).forEach((r) => {
    byId.set(String(r.id), r);
  });
  const describe = (c: Report | undefined) =>
    c
      ? `${String(c.candidateType)}/${String(c.protocol)}${c.relayProtocol ? ` (TURN over ${String(c.relayProtocol)})` : ''}`
      : '?';
  const gathered = new Set<string>();
  const pairs = new Set<string>();
  for (const r of byId.values()) {
    if (r.type === 'local-candidate') gathered.add(describe(r));
    if (r.type === 'candidate-pair')
      pairs.add(
        `${describe(byId.get(String(r.localCandidateId)))} → ${describe(byId.get(String(r.remoteCandidateId)))}: ${String(r.state)}`,
      );
  }
  return { gathered: [...gathered].sort(), pairs: [...pairs].sort() };
}
