/**
 * One participant's meeting: the WebSocket signaling, the mediasoup-client device with a send and a
 * receive transport, the local producers and the consumers of everyone else, and the roster (who is
 * here, what they send, muted or not, hands, scores). No DOM here: the UI subscribes to the callbacks
 * and reads `participants`.
 *
 * Media paths: transports get the media node's TURN servers (createTransport's `iceServers`). When a
 * transport's ICE fails, or does not connect within CONNECT_TIMEOUT_MS, it is made again relay-only
 * (iceTransportPolicy 'relay') and everything on it is produced or consumed again, so a participant
 * behind a firewall that blocks the direct path still gets in. See diagnostics.ts for ?relay=1 and
 * ?transport=tcp.
 */
import { Device, type types } from 'mediasoup-client';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import type { MediaKind, MediaSource } from '../../shared/media-types.ts';
import { CloseCode, type ParticipantInfo, type Result } from '../../shared/signaling.ts';
import { diagnostics } from './diagnostics.ts';
import { Signaling, SignalingError } from './signaling.ts';

/** A transport that has not connected this long after it started connecting counts as failed. */
const CONNECT_TIMEOUT_MS = 12_000;

/**
 * Camera simulcast: three spatial layers (¼, ½ and full resolution: 180p/360p/720p from a 720p camera),
 * each with three temporal layers, so the SFU can give every subscriber the layer that fits its tile.
 * Browsers send fewer layers for small captures (Chromium: 2 below 540p, 1 below 270p) and would drop
 * the top ones, so smaller captures get fewer, full-resolution-anchored layers.
 */
export function cameraEncodings(captureHeight: number): RTCRtpEncodingParameters[] {
  const n = captureHeight >= 540 ? 3 : captureHeight >= 270 ? 2 : 1;
  const bitrates = [150_000, 500_000, 1_500_000];
  return Array.from({ length: n }, (_, i) => ({ scaleResolutionDownBy: 2 ** (n - 1 - i), maxBitrate: bitrates[i], scalabilityMode: 'L1T3' })) as unknown as RTCRtpEncodingParameters[];
}

/**
 * Screen share: one full-resolution layer (text must stay sharp, so no downscaled copies), a higher
 * bitrate and a low frame rate; with contentHint 'text' the browser keeps the resolution and drops
 * frames when the bandwidth is short.
 */
export const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [{ maxBitrate: 2_500_000, maxFramerate: 15, scaleResolutionDownBy: 1 }];

export interface ProducerState {
  id: string;
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
  /** The SFU's view of the send quality, 0-10 (producerScore), once known. */
  score?: number;
  /** When we learnt of it: a new producer scores 0 until the SFU's first receive report. */
  since: number;
}

export interface Participant {
  id: string;
  name: string;
  self: boolean;
  handRaised: boolean;
  joinedAt: number;
  producers: Map<string, ProducerState>;
}

export interface ChatMessage {
  participantId: string;
  name: string;
  text: string;
  time: number;
  self: boolean;
}

export interface MeetingCallbacks {
  /** The meeting object exists and listens (before transports are ready): events may follow at once. */
  created?(m: Meeting): void;
  /** The room has a lobby: we wait until a moderator admits us. */
  waiting?(): void;
  joined?(p: Participant): void;
  left?(p: Participant): void;
  /** Anything about a participant changed: producers, mute states, hand, score. */
  changed?(p: Participant): void;
  handChanged?(p: Participant, raised: boolean): void;
  /** A remote track arrived (track) or went away (null). */
  track?(participantId: string, producerId: string, source: MediaSource, track: MediaStreamTrack | null): void;
  activeSpeaker?(participantId: string | null): void;
  chat?(m: ChatMessage): void;
  /** A moderator muted one of our sources (already paused here) or asks us to unmute one. */
  moderated?(kind: 'muted' | 'unmuteRequested', source: MediaSource): void;
  /** 'relay': the direct path failed, media now goes through TURN. 'mediaFailed': even that failed. */
  notice?(kind: 'relay' | 'mediaFailed'): void;
  /** The room socket closed without us leaving; `code` tells why (shared CloseCode). */
  disconnected?(code: number): void;
}

interface RemoteConsumer {
  consumer: types.Consumer;
  participantId: string;
  source: MediaSource;
  kind: MediaKind;
  /** The spatial layer last asked for (undefined: the SFU's default, the highest). */
  layer?: number;
  lastPackets?: { received: number; lost: number };
  /** Consecutive polls in which nothing arrived. */
  emptyPolls: number;
}

type Direction = 'send' | 'recv';

export class Meeting {
  readonly participantId: string;
  readonly room: string;
  /** Everyone in the room, this participant included (self: true). */
  readonly participants = new Map<string, Participant>();
  readonly #signaling: Signaling;
  readonly #device: Device;
  readonly #cb: MeetingCallbacks;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  readonly #policy: Record<Direction, RTCIceTransportPolicy> = { send: 'all', recv: 'all' };
  /** The policy each transport was made with, and the transports whose failure is being handled. */
  readonly #transportPolicy = new WeakMap<types.Transport, RTCIceTransportPolicy>();
  readonly #failedHandled = new WeakSet<types.Transport>();
  readonly #producers = new Map<MediaSource, types.Producer>();
  /** producerId → what we receive of it. */
  readonly #consumers = new Map<string, RemoteConsumer>();
  readonly #consuming = new Set<string>();
  /** producerId → the spatial layer the UI wants for it (kept for consumers made later). */
  readonly #layers = new Map<string, number>();
  #leaving = false;
  #closed = false;

  private constructor(room: string, s: Signaling, device: Device, joined: Result<'join'>, name: string, cb: MeetingCallbacks) {
    this.room = room;
    this.#signaling = s;
    this.#device = device;
    this.participantId = joined.participantId;
    this.#cb = cb;
    if (diagnostics.relayOnly) this.#policy.send = this.#policy.recv = 'relay';
    this.participants.set(joined.participantId, { id: joined.participantId, name, self: true, handRaised: false, joinedAt: Date.now(), producers: new Map() });
    for (const p of joined.participants) this.participants.set(p.id, fromInfo(p));
  }

  static async join(room: string, name: string, cb: MeetingCallbacks): Promise<Meeting> {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const s = await Signaling.open(`${scheme}//${location.host}/rooms/${encodeURIComponent(room)}/ws`);
    try {
      let joined: Result<'join'>;
      try {
        joined = await s.request('join', { protocolVersion: PROTOCOL_VERSION, name });
      } catch (err) {
        // A lobby: wait (socket open) until a moderator admits us; the event carries the join result.
        if (!(err instanceof SignalingError && err.code === 'WAITING_IN_LOBBY')) throw err;
        cb.waiting?.();
        joined = await new Promise<Result<'join'>>((resolve, reject) => {
          s.on('admitted', resolve);
          s.onclose = (code) => reject(new SignalingError(code === CloseCode.Refused ? 'NOT_ADMITTED' : 'CLOSED', 'not admitted'));
        });
      }
      // Listen before anything else is awaited: events sent right after the join reply must not be lost.
      const meeting = new Meeting(room, s, new Device(), joined, name, cb);
      meeting.#listen();
      cb.created?.(meeting);
      await meeting.#device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
      [meeting.#send, meeting.#recv] = await Promise.all([meeting.#createTransport('send'), meeting.#createTransport('recv')]);
      return meeting;
    } catch (err) {
      s.onclose = undefined;
      s.close();
      throw err;
    }
  }

  get self(): Participant {
    return this.participants.get(this.participantId)!;
  }

  /** Receives everything the others already send; call once the UI is ready for tracks. */
  consumeExisting(): void {
    for (const p of this.participants.values()) {
      if (p.self) continue;
      for (const prod of p.producers.values()) void this.consume(p.id, prod.id, prod.source);
    }
  }

  // --- sending ---

  canSend(kind: MediaKind): boolean {
    return this.#device.canProduce(kind);
  }

  hasProducer(source: MediaSource): boolean {
    return this.#producers.has(source);
  }

  isPaused(source: MediaSource): boolean {
    return this.#producers.get(source)?.paused ?? true;
  }

  /** Starts sending a local track; `paused` sends nothing until setPaused(source, false). */
  async publish(source: MediaSource, track: MediaStreamTrack, opts: { paused?: boolean } = {}): Promise<void> {
    if (!this.#device.canProduce(track.kind as MediaKind) || this.#producers.has(source) || !this.#send) return;
    // Muted from the first packet: a disabled track makes the producer start paused (silence/black).
    if (opts.paused) track.enabled = false;
    const producer = await this.#send.produce({
      track,
      appData: { source },
      stopTracks: false,
      ...(source === 'camera' ? { encodings: cameraEncodings(track.getSettings().height ?? 720), codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
      ...(source === 'screen' ? { encodings: SCREEN_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
      ...(source === 'microphone' ? { codecOptions: { opusStereo: false, opusDtx: false, opusFec: true } } : {}),
    });
    if (this.#closed) return producer.close();
    this.#producers.set(source, producer);
    this.self.producers.set(producer.id, { id: producer.id, kind: producer.kind as MediaKind, source, paused: false, since: Date.now() });
    if (opts.paused) await this.setPaused(source, true);
    else this.#cb.changed?.(this.self);
  }

  /** Sends another track for a source (a different device, or null while the camera is off). */
  async setTrack(source: MediaSource, track: MediaStreamTrack | null): Promise<void> {
    await this.#producers.get(source)?.replaceTrack({ track });
  }

  /**
   * Mutes or unmutes a source: locally (the track is disabled) and on the server (setProducerPaused:
   * nothing is forwarded, and everyone is told).
   */
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const p = this.#producers.get(source);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    const state = this.self.producers.get(p.id);
    if (state) state.paused = paused;
    this.#cb.changed?.(this.self);
    await this.#signaling.request('setProducerPaused', { producerId: p.id, paused });
  }

  /** Stops sending a source (e.g. the screen share) and tells the others. */
  async unpublish(source: MediaSource): Promise<void> {
    const p = this.#producers.get(source);
    if (!p) return;
    this.#producers.delete(source);
    this.self.producers.delete(p.id);
    p.close();
    this.#cb.changed?.(this.self);
    await this.#signaling.request('closeProducer', { producerId: p.id }).catch(() => undefined);
  }

  // --- receiving ---

  /** Receives a remote producer; called for everyone present at join and for each producerAdded. */
  async consume(participantId: string, producerId: string, source: MediaSource): Promise<void> {
    if (this.#consumers.has(producerId) || this.#consuming.has(producerId) || this.#closed) return;
    const recv = this.#recv;
    if (!recv) return;
    this.#consuming.add(producerId);
    try {
      const c = await this.#signaling.request('consume', { transportId: recv.id, producerId, rtpCapabilities: this.#device.recvRtpCapabilities as never });
      const consumer = await recv.consume({ id: c.consumerId, producerId, kind: c.kind, rtpParameters: c.rtpParameters as types.RtpParameters });
      // The producer or its owner may have gone, or the transport been replaced, while we waited.
      if (recv !== this.#recv || !this.participants.get(participantId)?.producers.has(producerId)) {
        consumer.close();
        return;
      }
      const entry: RemoteConsumer = { consumer, participantId, source, kind: c.kind, emptyPolls: 0 };
      this.#consumers.set(producerId, entry);
      const want = this.#layers.get(producerId);
      if (want !== undefined && c.kind === 'video' && diagnostics.layerSelection) {
        entry.layer = want;
        await this.#signaling.request('setConsumerLayers', { consumerId: c.consumerId, spatialLayer: want });
      }
      this.#cb.track?.(participantId, producerId, source, consumer.track);
      await this.#signaling.request('resumeConsumer', { consumerId: c.consumerId });
    } catch (err) {
      if (!this.#closed) console.warn('treffpunkt: consume failed', err);
    } finally {
      this.#consuming.delete(producerId);
    }
  }

  /**
   * The simulcast layer wanted for a remote camera (0 = lowest): the UI asks for the layer that fits the
   * tile. Requests are only sent when the wish changes; the SFU may still send less under congestion.
   */
  setPreferredLayer(producerId: string, spatialLayer: number): void {
    if (!diagnostics.layerSelection) return;
    this.#layers.set(producerId, spatialLayer);
    const c = this.#consumers.get(producerId);
    if (!c || c.kind !== 'video' || c.layer === spatialLayer) return;
    c.layer = spatialLayer;
    this.#signaling.request('setConsumerLayers', { consumerId: c.consumer.id, spatialLayer }).catch((err) => console.warn('treffpunkt: setConsumerLayers failed', err));
  }

  // --- chat, hand, leave ---

  async sendChat(text: string): Promise<void> {
    await this.#signaling.request('chat', { text });
  }

  async setHand(raised: boolean): Promise<void> {
    await this.#signaling.request('setHand', { raised });
  }

  async leave(): Promise<void> {
    this.#leaving = true;
    await this.#signaling.request('leave', {}).catch(() => undefined);
    this.#close();
  }

  // --- statistics (connection indicator, tests, benchmarks) ---

  /** Receive statistics per remote track. */
  async inboundStats(): Promise<{ participantId: string; producerId: string; consumerId: string; source: MediaSource; kind: MediaKind; packetsReceived: number; packetsLost: number; framesDecoded: number; frameWidth: number; frameHeight: number; totalSamplesReceived: number; layer: number | undefined }[]> {
    const out = [];
    for (const [producerId, { consumer, participantId, kind, source, layer }] of this.#consumers) {
      const s = { packetsReceived: 0, packetsLost: 0, framesDecoded: 0, frameWidth: 0, frameHeight: 0, totalSamplesReceived: 0 };
      (await consumer.getStats().catch(() => new Map())).forEach((r: Record<string, unknown>) => {
        if (r.type !== 'inbound-rtp') return;
        for (const k of ['packetsReceived', 'packetsLost', 'framesDecoded', 'totalSamplesReceived'] as const) s[k] += Number(r[k] ?? 0);
        s.frameWidth = Math.max(s.frameWidth, Number(r.frameWidth ?? 0));
        s.frameHeight = Math.max(s.frameHeight, Number(r.frameHeight ?? 0));
      });
      out.push({ participantId, producerId, consumerId: consumer.id, source, kind, layer, ...s });
    }
    return out;
  }

  /**
   * Receive loss per remote participant since the last call (0-1), for the connection indicator; -1 when
   * nothing arrived in two calls in a row although something should have. One caller only (the UI): each
   * call starts a new measuring window.
   */
  async receiveLoss(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [producerId, c] of this.#consumers) {
      const owner = this.participants.get(c.participantId);
      if (!owner || owner.producers.get(producerId)?.paused) continue;
      let received = 0;
      let lost = 0;
      (await c.consumer.getStats().catch(() => new Map())).forEach((r: Record<string, unknown>) => {
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

  /** What we send per source: the negotiated encodings (simulcast layers) and the track's content hint. */
  sendInfo(): { source: MediaSource; paused: boolean; contentHint: string | undefined; width?: number; height?: number; encodings: { rid?: string; scalabilityMode?: string; maxBitrate?: number; scaleResolutionDownBy?: number }[] }[] {
    return [...this.#producers].map(([source, p]) => ({
      source,
      paused: p.paused,
      contentHint: p.track?.contentHint,
      width: p.track?.getSettings().width,
      height: p.track?.getSettings().height,
      encodings: (p.rtpParameters.encodings ?? []).map((e) => ({ rid: e.rid, scalabilityMode: e.scalabilityMode, maxBitrate: e.maxBitrate, scaleResolutionDownBy: e.scaleResolutionDownBy })),
    }));
  }

  /**
   * The loss the SFU reports back for what we send (RTCP receiver reports: remote-inbound-rtp
   * fractionLost, 0-1, the worst active stream), or undefined before the first report.
   */
  async sendLoss(): Promise<number | undefined> {
    let worst: number | undefined;
    for (const p of this.#producers.values()) {
      if (p.paused || !p.track) continue;
      (await p.getStats().catch(() => new Map())).forEach((r: Record<string, unknown>) => {
        if (r.type === 'remote-inbound-rtp' && typeof r.fractionLost === 'number') worst = Math.max(worst ?? 0, r.fractionLost);
      });
    }
    return worst;
  }

  /** The ICE candidate pair each transport uses (type 'relay' when through TURN; protocol udp/tcp). */
  async candidatePairs(): Promise<{ direction: Direction; policy: RTCIceTransportPolicy; state: string; localType?: string; remoteType?: string; protocol?: string; relayProtocol?: string }[]> {
    const out = [];
    for (const [direction, tr] of [['send', this.#send], ['recv', this.#recv]] as const) {
      if (!tr) continue;
      const stats = await tr.getStats().catch(() => new Map());
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((r: Record<string, unknown>) => byId.set(String(r.id), r));
      let pairId: string | undefined;
      for (const r of byId.values()) if (r.type === 'transport' && r.selectedCandidatePairId) pairId = String(r.selectedCandidatePairId);
      if (!pairId) for (const r of byId.values()) if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pairId = String(r.id);
      const pair = pairId ? byId.get(pairId) : undefined;
      const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
      const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;
      out.push({
        direction,
        policy: this.#policy[direction],
        state: tr.connectionState,
        ...(local ? { localType: String(local.candidateType), protocol: String(local.protocol), ...(local.relayProtocol ? { relayProtocol: String(local.relayProtocol) } : {}) } : {}),
        ...(remote ? { remoteType: String(remote.candidateType) } : {}),
      });
    }
    return out;
  }

  // --- internals ---

  async #createTransport(direction: Direction): Promise<types.Transport> {
    const opts = await this.#signaling.request('createTransport', { direction });
    const iceCandidates = diagnostics.tcpOnly ? opts.iceCandidates.filter((c) => c.protocol === 'tcp') : opts.iceCandidates;
    const options = {
      id: opts.id,
      iceParameters: opts.iceParameters,
      iceCandidates,
      dtlsParameters: opts.dtlsParameters,
      iceServers: opts.iceServers,
      iceTransportPolicy: this.#policy[direction],
    } as unknown as types.TransportOptions;
    const tr = direction === 'send' ? this.#device.createSendTransport(options) : this.#device.createRecvTransport(options);
    this.#transportPolicy.set(tr, this.#policy[direction]);
    const s = this.#signaling;
    // From its first use, a transport has CONNECT_TIMEOUT_MS to connect (ICE may also never start, when
    // no candidate is usable: the state then stays 'new').
    let timer: ReturnType<typeof setTimeout> | undefined;
    tr.on('connect', ({ dtlsParameters }, ok, fail) => {
      timer ??= setTimeout(() => tr.connectionState !== 'connected' && void this.#onFailed(direction, tr), CONNECT_TIMEOUT_MS);
      s.request('connectTransport', { transportId: tr.id, dtlsParameters: dtlsParameters as never }).then(() => ok(), fail);
    });
    if (direction === 'send') {
      tr.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        const source = (appData as { source: MediaSource }).source;
        s.request('produce', { transportId: tr.id, kind, rtpParameters: rtpParameters as never, source }).then(({ producerId }) => ok({ id: producerId }), fail);
      });
    }
    tr.on('connectionstatechange', (state) => {
      if (state === 'connected' || state === 'closed') clearTimeout(timer);
      if (state === 'failed') void this.#onFailed(direction, tr);
    });
    return tr;
  }

  /** A transport failed: make it again relay-only and move everything onto the new one. */
  async #onFailed(direction: Direction, failed: types.Transport): Promise<void> {
    const current = direction === 'send' ? this.#send : this.#recv;
    // Both the connect timeout and ICE's 'failed' may report one transport: it is handled once.
    if (this.#closed || failed !== current || failed.connectionState === 'connected' || this.#failedHandled.has(failed)) return;
    this.#failedHandled.add(failed);
    if (this.#transportPolicy.get(failed) === 'relay') {
      this.#cb.notice?.('mediaFailed');
      return;
    }
    console.warn(`treffpunkt: the ${direction} transport failed; retrying through TURN (relay only)`);
    this.#policy[direction] = 'relay';
    this.#cb.notice?.('relay');
    try {
      const fresh = await this.#createTransport(direction);
      if (this.#closed) return fresh.close();
      if (direction === 'send') {
        this.#send = fresh;
        for (const [source, p] of [...this.#producers]) {
          const { track, paused } = p;
          this.#producers.delete(source);
          this.self.producers.delete(p.id);
          p.close();
          await this.#signaling.request('closeProducer', { producerId: p.id }).catch(() => undefined);
          // A camera that is switched off has no track: it is produced again when it is switched on.
          if (track && track.readyState === 'live') await this.publish(source, track, { paused });
        }
        this.#cb.changed?.(this.self);
      } else {
        this.#recv = fresh;
        for (const [producerId, c] of [...this.#consumers]) {
          this.#dropConsumer(producerId);
          void this.consume(c.participantId, producerId, c.source);
        }
      }
    } catch (err) {
      console.warn('treffpunkt: relay fallback failed', err);
      this.#cb.notice?.('mediaFailed');
    } finally {
      failed.close();
    }
  }

  #listen(): void {
    const s = this.#signaling;
    s.on('participantJoined', ({ participant }) => {
      const p = fromInfo(participant);
      this.participants.set(p.id, p);
      this.#cb.joined?.(p);
    });
    s.on('participantLeft', ({ participantId }) => {
      const p = this.participants.get(participantId);
      if (!p) return;
      this.participants.delete(participantId);
      for (const [producerId, c] of this.#consumers) if (c.participantId === participantId) this.#dropConsumer(producerId);
      this.#cb.left?.(p);
    });
    s.on('producerAdded', ({ participantId, producerId, kind, source }) => {
      const p = this.participants.get(participantId);
      if (!p) return;
      p.producers.set(producerId, { id: producerId, kind, source, paused: false, since: Date.now() });
      this.#cb.changed?.(p);
      void this.consume(participantId, producerId, source);
    });
    s.on('producerClosed', ({ participantId, producerId }) => {
      const p = this.participants.get(participantId);
      p?.producers.delete(producerId);
      this.#layers.delete(producerId);
      this.#dropConsumer(producerId);
      if (p) this.#cb.changed?.(p);
    });
    s.on('consumerClosed', ({ consumerId }) => {
      for (const [producerId, c] of this.#consumers) if (c.consumer.id === consumerId) this.#dropConsumer(producerId);
    });
    s.on('producerPaused', ({ participantId, producerId, paused }) => {
      const p = this.participants.get(participantId);
      const prod = p?.producers.get(producerId);
      if (!p || !prod || p.self) return;
      prod.paused = paused;
      this.#cb.changed?.(p);
    });
    s.on('producerScore', ({ participantId, producerId, score }) => {
      const p = this.participants.get(participantId);
      const prod = p?.producers.get(producerId);
      if (!p || !prod) return;
      prod.score = score;
      this.#cb.changed?.(p);
    });
    s.on('activeSpeaker', ({ participantId }) => this.#cb.activeSpeaker?.(participantId));
    s.on('chat', (m) => this.#cb.chat?.({ ...m, self: m.participantId === this.participantId }));
    s.on('handChanged', ({ participantId, raised }) => {
      const p = this.participants.get(participantId);
      if (!p || p.handRaised === raised) return;
      p.handRaised = raised;
      this.#cb.handChanged?.(p, raised);
      this.#cb.changed?.(p);
    });
    s.on('mutedByModerator', ({ source }) => {
      // The server has paused the producer already; follow locally so the UI and the track agree.
      const p = this.#producers.get(source);
      if (p && !p.paused) p.pause();
      const state = p ? this.self.producers.get(p.id) : undefined;
      if (state) state.paused = true;
      this.#cb.changed?.(this.self);
      this.#cb.moderated?.('muted', source);
    });
    s.on('unmuteRequested', ({ source }) => this.#cb.moderated?.('unmuteRequested', source));
    s.onclose = (code) => {
      this.#close();
      if (!this.#leaving) this.#cb.disconnected?.(code);
    };
  }

  #dropConsumer(producerId: string): void {
    const c = this.#consumers.get(producerId);
    if (!c) return;
    this.#consumers.delete(producerId);
    c.consumer.close();
    this.#cb.track?.(c.participantId, producerId, c.source, null);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#producers.values()) p.close();
    this.#producers.clear();
    for (const c of this.#consumers.values()) c.consumer.close();
    this.#consumers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#signaling.close();
  }
}

function fromInfo(p: ParticipantInfo): Participant {
  return {
    id: p.id,
    name: p.name,
    self: false,
    handRaised: p.handRaised,
    joinedAt: Date.now(),
    producers: new Map(p.producers.map((x) => [x.id, { ...x, since: Date.now() }])),
  };
}
