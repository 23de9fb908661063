/**
 * One participant's meeting: the WebSocket signaling, the mediasoup-client device with a send and a
 * receive transport, the local producers and the consumers of everyone else, and the roster (who is
 * here, what they send, muted or not, hands, scores, roles). No DOM here: the UI subscribes to the
 * callbacks and reads `participants`.
 *
 * Media paths: transports get the media node's TURN servers (createTransport's `iceServers`). When a
 * transport's ICE fails, or does not connect within CONNECT_TIMEOUT_MS, it is made again relay-only
 * (iceTransportPolicy 'relay') and everything on it is produced or consumed again, so a participant
 * behind a firewall that blocks the direct path still gets in. See diagnostics.ts for ?relay=1 and
 * ?transport=tcp. (An ICE restart of a transport whose node is alive would be lighter, but the protocol
 * has no method for it yet.) TURN credentials expire, and every relay made with them ends then: each
 * transport with TURN servers renews them by an ICE restart at 60-80 % of their lifetime (RENEW_FROM).
 *
 * Signaling loss: when the room socket drops (any close code but the ones that end the meeting), the
 * meeting reconnects with backoff and sends `resume`; the transports, producers and consumers stay as
 * they are (they live on the media node during the server's grace period, and media keeps flowing), and
 * the roster is brought up to date from the resume result. Requests made meanwhile wait for the new
 * socket; idempotent ones that were cut off are sent again.
 *
 * Node change: `mediaMoved` means our media node is gone (or draining) and the room put us on another.
 * Everything media is rebuilt there: a new device, new transports, our sources produced again (audio
 * first) and everyone's producers consumed again; the roster, chat and tiles stay.
 */
import { Device, type types } from 'mediasoup-client';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import type { MediaKind, MediaSource, RtpCapabilities } from '../../shared/media-types.ts';
import { CloseCode, type EventData, type JoinResult, type Method, type ParticipantInfo, type Params, type Result, type Role } from '../../shared/signaling.ts';
import { diagnostics } from './diagnostics.ts';
import { DROPPED, Signaling, SignalingError } from './signaling.ts';

/** A transport that has not connected this long after it started connecting counts as failed. */
const CONNECT_TIMEOUT_MS = 12_000;
/** A connected transport that is 'disconnected' this long gets an ICE restart ('failed': at once). */
const ICE_RESTART_AFTER_MS = 2_000;
/** After an ICE restart, how long the path may take to come back before the transport is made anew. */
const ICE_RESTART_TIMEOUT_MS = 10_000;
/**
 * TURN credentials expire, and every allocation made with them ends then (docs/turn.md, "Credential
 * lifetime"). A transport with TURN servers therefore restarts ICE at a random point between these
 * fractions of the credentials' lifetime; the restart brings new credentials and new allocations. Random,
 * so that a participant's two transports (and a room's participants) do not renew at the same moment.
 */
const RENEW_FROM = 0.6;
const RENEW_TO = 0.8;

/** Reconnecting: the first retry after this long, doubling up to RECONNECT_MAX_DELAY_MS. */
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 4_000;
/**
 * Reconnecting stops after this long without reaching the server (the edge's grace period, 15 s by
 * default, is long over by then). A server that answers tells us sooner: `resume` fails with
 * UNAUTHORIZED once the grace period has run out.
 */
const RECONNECT_GIVE_UP_MS = 120_000;
/** A new socket must open, and `resume` be answered, within these. */
const RECONNECT_OPEN_TIMEOUT_MS = 5_000;
const RESUME_TIMEOUT_MS = 10_000;
/** Keep-alive (docs/protocol.md: every 20-30 s); a ping not answered in time counts as a lost socket. */
const PING_EVERY_MS = 20_000;
const PING_TIMEOUT_MS = 10_000;

/** Close codes that end the meeting for this participant: no reconnecting after these (shared CloseCode). */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.Left, CloseCode.MessageTooBig, CloseCode.MeetingEnded, CloseCode.Removed, CloseCode.Refused, CloseCode.RateLimited]);

/** Requests that can be sent twice without harm: cut off by a socket loss, they are sent again after resume. */
const RESEND_AFTER_RESUME: ReadonlySet<Method> = new Set<Method>(['setProducerPaused', 'setHand', 'setConsumerLayers', 'resumeConsumer', 'lockRoom']);

/** The order in which our sources are produced (again): audio first, so people hear us soonest. */
const SOURCE_ORDER: readonly MediaSource[] = ['microphone', 'camera', 'screen'];

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
  /** The name comes from a join token (the server says so); a typed name is not verified. */
  verified: boolean;
  self: boolean;
  role: Role;
  handRaised: boolean;
  joinedAt: number;
  producers: Map<string, ProducerState>;
}

export interface ChatMessage {
  participantId: string;
  name: string;
  /** The sender's name is verified (looked up when the message arrives). */
  verified: boolean;
  text: string;
  time: number;
  self: boolean;
}

export interface LobbyEntry {
  id: string;
  name: string;
  verified: boolean;
}

/** How to join: a display name (for a guest or an open deployment) or a join token, and a region hint. */
export interface JoinOptions {
  /** Our own name as shown here; sent only without a token (the token's name wins on the server). */
  name: string;
  token?: string;
  region?: string;
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
  /** To moderators: who waits in the lobby now. */
  lobby?(waiting: LobbyEntry[]): void;
  roomLocked?(locked: boolean): void;
  /** 'relay': the direct path failed, media now goes through TURN. 'mediaFailed': even that failed. */
  notice?(kind: 'relay' | 'mediaFailed'): void;
  /** The room socket dropped and we are reconnecting ('reconnecting'), or we resumed ('connected'). */
  connection?(state: 'reconnecting' | 'connected'): void;
  /** No media node can carry our media now (the room keeps trying); cleared by mediaMoved. */
  mediaUnavailable?(code: EventData<'mediaUnavailable'>['code'] | null): void;
  /** Our media was moved to another node and is set up there again (the count of moves so far). */
  mediaMoved?(count: number): void;
  /** The room socket closed for good without us leaving; `code` tells why (shared CloseCode; 1006: lost). */
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

/** What we mean to send per source, whether or not a producer exists right now (a node change rebuilds from it). */
interface Wanted {
  /** null: the source is switched off (a camera without a track); produced again when it gets one. */
  track: MediaStreamTrack | null;
  paused: boolean;
}

type Direction = 'send' | 'recv';

function deferred(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // nobody may be waiting when it fails
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Meeting {
  readonly participantId: string;
  readonly room: string;
  /** Everyone in the room, this participant included (self: true). */
  readonly participants = new Map<string, Participant>();
  /** Our role in the room (moderators see the moderation controls; the edge checks every action). */
  role: Role;
  locked: boolean;
  /** Who waits in the lobby (known to moderators only). */
  lobby: LobbyEntry[] = [];
  /** How often the socket was resumed, and how often our media was moved to another node (tests wait on these). */
  resumes = 0;
  mediaMoves = 0;
  /** ICE restarts done (a broken path on a live node), for tests and diagnostics. */
  iceRestarts = 0;
  readonly #url: string;
  #signaling: Signaling;
  #resumeToken: string;
  #device: Device;
  readonly #cb: MeetingCallbacks;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  readonly #policy: Record<Direction, RTCIceTransportPolicy> = { send: 'all', recv: 'all' };
  /** The policy each transport was made with, and the transports whose failure is being handled. */
  readonly #transportPolicy = new WeakMap<types.Transport, RTCIceTransportPolicy>();
  readonly #failedHandled = new WeakSet<types.Transport>();
  readonly #wanted = new Map<MediaSource, Wanted>();
  readonly #producers = new Map<MediaSource, types.Producer>();
  readonly #producing = new Set<MediaSource>();
  /** producerId → what we receive of it. */
  readonly #consumers = new Map<string, RemoteConsumer>();
  readonly #consuming = new Set<string>();
  /** producerId → the spatial layer the UI wants for it (kept for consumers made later). */
  readonly #layers = new Map<string, number>();
  /** Set while the socket is down: requests wait on it (resolved on resume, rejected when we give up). */
  #offline: ReturnType<typeof deferred> | undefined;
  /** Node changes: each mediaMoved gets a number, and a rebuild that is no longer the latest stops. */
  #moveGeneration = 0;
  #moving: Promise<void> = Promise.resolve();
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #leaving = false;
  #closed = false;

  private constructor(room: string, url: string, s: Signaling, device: Device, joined: JoinResult, name: string, verified: boolean, cb: MeetingCallbacks) {
    this.room = room;
    this.#url = url;
    this.#signaling = s;
    this.#device = device;
    this.participantId = joined.participantId;
    this.#resumeToken = joined.resumeToken;
    this.role = joined.role;
    this.locked = joined.locked;
    this.#cb = cb;
    this.#resetPolicy();
    this.participants.set(joined.participantId, { id: joined.participantId, name, verified, self: true, role: joined.role, handRaised: false, joinedAt: Date.now(), producers: new Map() });
    for (const p of joined.participants) this.participants.set(p.id, fromInfo(p));
  }

  static async join(room: string, opts: JoinOptions, cb: MeetingCallbacks): Promise<Meeting> {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/rooms/${encodeURIComponent(room)}/ws`;
    const s = await Signaling.open(url);
    try {
      let joined: Result<'join'>;
      try {
        joined = await s.request('join', {
          protocolVersion: PROTOCOL_VERSION,
          ...(opts.token ? { token: opts.token } : { name: opts.name }),
          ...(opts.region ? { region: opts.region } : {}),
        });
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
      const meeting = new Meeting(room, url, s, new Device(), joined, opts.name, opts.token !== undefined, cb);
      meeting.#listen(s);
      cb.created?.(meeting);
      await meeting.#device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
      [meeting.#send, meeting.#recv] = await Promise.all([meeting.#createTransport('send'), meeting.#createTransport('recv')]);
      meeting.#pingTimer = setInterval(() => meeting.#keepAlive(), PING_EVERY_MS);
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

  get isModerator(): boolean {
    return this.role === 'moderator';
  }

  /** True while the socket is down and we try to resume. */
  get reconnecting(): boolean {
    return this.#offline !== undefined && !this.#closed;
  }

  /** Receives everything the others already send; call once the UI is ready for tracks. */
  consumeExisting(): Promise<void> {
    const wanted: { participantId: string; producerId: string; source: MediaSource }[] = [];
    for (const p of this.participants.values()) {
      if (p.self) continue;
      for (const prod of p.producers.values()) wanted.push({ participantId: p.id, producerId: prod.id, source: prod.source });
    }
    // Audio first: the room answers requests in order, and hearing each other matters most.
    wanted.sort((a, b) => Number(a.source !== 'microphone') - Number(b.source !== 'microphone'));
    return Promise.all(wanted.map((w) => this.consume(w.participantId, w.producerId, w.source))).then(() => undefined);
  }

  // --- sending ---

  canSend(kind: MediaKind): boolean {
    return this.#device.canProduce(kind);
  }

  hasProducer(source: MediaSource): boolean {
    return this.#producers.has(source);
  }

  isPaused(source: MediaSource): boolean {
    return this.#producers.get(source)?.paused ?? this.#wanted.get(source)?.paused ?? true;
  }

  /** Starts sending a local track; `paused` sends nothing until setPaused(source, false). */
  async publish(source: MediaSource, track: MediaStreamTrack, opts: { paused?: boolean } = {}): Promise<void> {
    if (!this.#device.canProduce(track.kind as MediaKind) || this.#producers.has(source)) return;
    this.#wanted.set(source, { track, paused: Boolean(opts.paused) });
    await this.#produce(source);
  }

  /** Sends another track for a source (a different device, or null while the camera is off). */
  async setTrack(source: MediaSource, track: MediaStreamTrack | null): Promise<void> {
    const want = this.#wanted.get(source);
    if (want) want.track = track;
    await this.#producers.get(source)?.replaceTrack({ track });
  }

  /**
   * Mutes or unmutes a source: locally (the track is disabled) and on the server (setProducerPaused:
   * nothing is forwarded, and everyone is told).
   */
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const want = this.#wanted.get(source);
    if (want) want.paused = paused;
    const p = this.#producers.get(source);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    const state = this.self.producers.get(p.id);
    if (state) state.paused = paused;
    this.#cb.changed?.(this.self);
    await this.#request('setProducerPaused', { producerId: p.id, paused });
  }

  /** Stops sending a source (e.g. the screen share) and tells the others. */
  async unpublish(source: MediaSource): Promise<void> {
    this.#wanted.delete(source);
    const p = this.#producers.get(source);
    if (!p) return;
    this.#producers.delete(source);
    this.self.producers.delete(p.id);
    p.close();
    this.#cb.changed?.(this.self);
    await this.#request('closeProducer', { producerId: p.id }).catch(() => undefined);
  }

  /**
   * Produces what we want to send of `source` on the current send transport, unless that is done or
   * under way. If the transport is replaced while producing (relay fallback, node change), the producer
   * is dropped and the source produced again on the new one.
   */
  async #produce(source: MediaSource): Promise<void> {
    const want = this.#wanted.get(source);
    const send = this.#send;
    const track = want?.track;
    if (!want || !track || track.readyState !== 'live' || !send || this.#closed || this.#producers.has(source) || this.#producing.has(source)) return;
    if (!this.#device.canProduce(track.kind as MediaKind)) return;
    this.#producing.add(source);
    let again = false;
    try {
      // Muted from the first packet: a disabled track makes the producer start paused (silence/black).
      if (want.paused) track.enabled = false;
      const producer = await send.produce({
        track,
        appData: { source },
        stopTracks: false,
        ...(source === 'camera' ? { encodings: cameraEncodings(track.getSettings().height ?? 720), codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
        ...(source === 'screen' ? { encodings: SCREEN_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
        ...(source === 'microphone' ? { codecOptions: { opusStereo: false, opusDtx: false, opusFec: true } } : {}),
      });
      if (this.#closed) return producer.close();
      if (send !== this.#send || this.#wanted.get(source) !== want) {
        // Replaced or given up meanwhile: this producer is not wanted (the server may not know it any more).
        producer.close();
        void this.#request('closeProducer', { producerId: producer.id }).catch(() => undefined);
        // A new transport, or a new wish for this source (publish with another track): produce that.
        again = send !== this.#send || this.#wanted.has(source);
        return;
      }
      this.#producers.set(source, producer);
      this.self.producers.set(producer.id, { id: producer.id, kind: producer.kind as MediaKind, source, paused: false, since: Date.now() });
      // The wish may have changed while producing (a click on mute, a moderator's mute).
      if (want.paused) await this.setPaused(source, true);
      else this.#cb.changed?.(this.self);
    } catch (err) {
      if (send === this.#send && !this.#closed) throw err;
      again = !this.#closed;
    } finally {
      this.#producing.delete(source);
      if (again) void this.#produce(source).catch((err) => console.warn(`treffpunkt: producing ${source} again failed`, err));
    }
  }

  // --- receiving ---

  /** Receives a remote producer; called for everyone present at join and for each producerAdded. */
  async consume(participantId: string, producerId: string, source: MediaSource): Promise<void> {
    if (this.#consumers.has(producerId) || this.#consuming.has(producerId) || this.#closed) return;
    const recv = this.#recv;
    if (!recv) return;
    this.#consuming.add(producerId);
    let again = false;
    try {
      const c = await this.#request('consume', { transportId: recv.id, producerId, rtpCapabilities: this.#device.recvRtpCapabilities as never });
      const consumer = await recv.consume({ id: c.consumerId, producerId, kind: c.kind, rtpParameters: c.rtpParameters as types.RtpParameters });
      // The producer or its owner may have gone, or the transport been replaced, while we waited.
      if (recv !== this.#recv || !this.participants.get(participantId)?.producers.has(producerId)) {
        consumer.close();
        again = recv !== this.#recv;
        return;
      }
      const entry: RemoteConsumer = { consumer, participantId, source, kind: c.kind, emptyPolls: 0 };
      this.#consumers.set(producerId, entry);
      const want = this.#layers.get(producerId);
      if (want !== undefined && c.kind === 'video' && diagnostics.layerSelection) {
        entry.layer = want;
        await this.#request('setConsumerLayers', { consumerId: c.consumerId, spatialLayer: want });
      }
      this.#cb.track?.(participantId, producerId, source, consumer.track);
      await this.#request('resumeConsumer', { consumerId: c.consumerId });
    } catch (err) {
      if (recv !== this.#recv) again = true;
      else if (!this.#closed) console.warn('treffpunkt: consume failed', err);
    } finally {
      this.#consuming.delete(producerId);
      // Made on a transport that was replaced meanwhile: receive it again on the current one.
      if (again && !this.#closed && this.participants.get(participantId)?.producers.has(producerId)) await this.consume(participantId, producerId, source);
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
    this.#request('setConsumerLayers', { consumerId: c.consumer.id, spatialLayer }).catch((err) => console.warn('treffpunkt: setConsumerLayers failed', err));
  }

  // --- chat, hand, leave ---

  async sendChat(text: string): Promise<void> {
    await this.#request('chat', { text });
  }

  async setHand(raised: boolean): Promise<void> {
    await this.#request('setHand', { raised });
  }

  async leave(): Promise<void> {
    this.#leaving = true;
    if (this.#signaling.open) await this.#signaling.request('leave', {}, 5_000).catch(() => undefined);
    this.#close();
  }

  // --- moderation (the edge refuses these with FORBIDDEN unless we moderate) ---

  /** Pauses someone's producers of a source on the server; only they can unmute. */
  async muteParticipant(participantId: string, source: MediaSource): Promise<void> {
    await this.#request('muteParticipant', { participantId, source });
  }

  async askToUnmute(participantId: string, source: MediaSource): Promise<void> {
    await this.#request('askToUnmute', { participantId, source });
  }

  async removeParticipant(participantId: string): Promise<void> {
    await this.#request('removeParticipant', { participantId });
  }

  async lockRoom(locked: boolean): Promise<void> {
    await this.#request('lockRoom', { locked });
  }

  async admit(participantId: string): Promise<void> {
    await this.#request('admit', { participantId });
  }

  async refuse(participantId: string): Promise<void> {
    await this.#request('refuse', { participantId });
  }

  /** Ends the meeting for everyone (the edge closes every other socket with MeetingEnded, and ours). */
  async endMeeting(): Promise<void> {
    this.#leaving = true;
    try {
      await this.#request('endMeeting', {});
    } catch (err) {
      this.#leaving = false;
      throw err;
    }
    this.#close();
  }

  /**
   * Gives up the room socket as a network loss would (diagnostics and tests): the meeting reconnects and
   * resumes by itself, with its media untouched.
   */
  dropConnection(): void {
    this.#signaling.drop();
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

  // --- internals: signaling ---

  /**
   * A request on the current socket. While the socket is down it waits for the resume; a request of
   * RESEND_AFTER_RESUME that the loss cut off is sent again on the new socket.
   */
  async #request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    for (;;) {
      if (this.#closed) throw new SignalingError('CLOSED', 'the meeting is over');
      if (this.#offline) await this.#offline.promise;
      try {
        return await this.#signaling.request(method, params);
      } catch (err) {
        const cutOff = err instanceof SignalingError && err.code === 'CLOSED' && !this.#closed && this.#offline !== undefined;
        if (!cutOff || !RESEND_AFTER_RESUME.has(method)) throw err;
      }
    }
  }

  #keepAlive(): void {
    const s = this.#signaling;
    if (this.#closed || !s.open) return;
    // No answer in time: the connection is dead even if the browser has not noticed (no close event yet).
    s.request('ping', {}, PING_TIMEOUT_MS).catch((err) => {
      if (err instanceof SignalingError && err.code === 'TIMEOUT' && s === this.#signaling) s.drop();
    });
  }

  #onSocketClosed(s: Signaling, code: number): void {
    if (s !== this.#signaling || this.#closed) return;
    if (this.#leaving || FINAL_CLOSE_CODES.has(code)) {
      this.#close();
      if (!this.#leaving) this.#cb.disconnected?.(code);
      return;
    }
    console.warn(`treffpunkt: the room connection dropped (code ${code}); reconnecting`);
    void this.#reconnect();
  }

  /** Reconnects with backoff and resumes; gives up (disconnected) when the server no longer knows us. */
  async #reconnect(): Promise<void> {
    if (this.#offline) return;
    this.#offline = deferred();
    this.#cb.connection?.('reconnecting');
    const started = Date.now();
    let delay = RECONNECT_FIRST_DELAY_MS;
    for (;;) {
      await sleep(delay);
      if (this.#closed) return;
      delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
      let s: Signaling;
      try {
        s = await Signaling.open(this.#url, RECONNECT_OPEN_TIMEOUT_MS);
      } catch {
        if (Date.now() - started > RECONNECT_GIVE_UP_MS) return this.#giveUp();
        continue;
      }
      if (this.#closed) return s.close();
      let result: JoinResult;
      try {
        result = await s.request('resume', { protocolVersion: PROTOCOL_VERSION, participantId: this.participantId, resumeToken: this.#resumeToken }, RESUME_TIMEOUT_MS);
      } catch (err) {
        s.onclose = undefined;
        s.close();
        // UNAUTHORIZED: the grace period is over (or the room restarted without us): we are out.
        const code = err instanceof SignalingError ? err.code : '';
        if (code === 'UNAUTHORIZED' || code === 'UNSUPPORTED_PROTOCOL_VERSION' || Date.now() - started > RECONNECT_GIVE_UP_MS) return this.#giveUp();
        continue;
      }
      if (this.#closed) return s.close();
      // Nothing awaited from here to #listen: events right after the resume reply must not be lost.
      this.#signaling = s;
      this.#resumeToken = result.resumeToken;
      this.#listen(s);
      this.resumes++;
      const offline = this.#offline;
      this.#offline = undefined;
      this.#reconcile(result);
      offline.resolve();
      this.#cb.connection?.('connected');
      // What the loss cut off: producers that were being made, consumers that were being made.
      for (const source of SOURCE_ORDER) void this.#produce(source).catch((err) => console.warn(`treffpunkt: producing ${source} failed`, err));
      void this.consumeExisting();
      return;
    }
  }

  #giveUp(): void {
    if (this.#closed) return;
    this.#close();
    this.#cb.disconnected?.(DROPPED);
  }

  /**
   * Brings the roster in line with a resume result: who left or came while we were away, what they send
   * now, muted or not, hands. Our transports, producers and consumers are not touched.
   */
  #reconcile(result: JoinResult): void {
    this.role = result.role;
    this.self.role = result.role;
    if (this.locked !== result.locked) {
      this.locked = result.locked;
      this.#cb.roomLocked?.(result.locked);
    }
    // A producer the room has for us that we do not know: its `produce` reply was lost with the old
    // socket (the request is made again). Closed, or the others would see a stream that never comes.
    const mine = new Set([...this.#producers.values()].map((p) => p.id));
    for (const x of result.you?.producers ?? []) {
      if (!mine.has(x.id)) void this.#request('closeProducer', { producerId: x.id }).catch(() => undefined);
    }
    const now = new Map(result.participants.map((p) => [p.id, p]));
    for (const p of [...this.participants.values()]) if (!p.self && !now.has(p.id)) this.#removeParticipant(p.id);
    for (const info of result.participants) {
      const p = this.participants.get(info.id);
      if (!p) {
        const fresh = fromInfo(info);
        this.participants.set(fresh.id, fresh);
        this.#cb.joined?.(fresh);
        continue;
      }
      p.name = info.name;
      p.role = info.role;
      const ids = new Set(info.producers.map((x) => x.id));
      for (const id of [...p.producers.keys()]) {
        if (ids.has(id)) continue;
        p.producers.delete(id);
        this.#layers.delete(id);
        this.#dropConsumer(id);
      }
      for (const x of info.producers) {
        const known = p.producers.get(x.id);
        if (known) known.paused = x.paused;
        else p.producers.set(x.id, { ...x, since: Date.now() });
      }
      if (p.handRaised !== info.handRaised) {
        p.handRaised = info.handRaised;
        this.#cb.handChanged?.(p, info.handRaised);
      }
      this.#cb.changed?.(p);
    }
  }

  #removeParticipant(participantId: string): void {
    const p = this.participants.get(participantId);
    if (!p || p.self) return;
    this.participants.delete(participantId);
    for (const [producerId, c] of this.#consumers) if (c.participantId === participantId) this.#dropConsumer(producerId);
    this.#cb.left?.(p);
  }

  #listen(s: Signaling): void {
    s.on('participantJoined', ({ participant }) => {
      if (this.participants.has(participant.id)) return;
      const p = fromInfo(participant);
      this.participants.set(p.id, p);
      this.#cb.joined?.(p);
    });
    s.on('participantLeft', ({ participantId }) => this.#removeParticipant(participantId));
    s.on('producerAdded', ({ participantId, producerId, kind, source }) => {
      const p = this.participants.get(participantId);
      if (!p || p.self) return;
      p.producers.set(producerId, { id: producerId, kind, source, paused: false, since: Date.now() });
      this.#cb.changed?.(p);
      void this.consume(participantId, producerId, source);
    });
    s.on('producerClosed', ({ participantId, producerId }) => {
      const p = this.participants.get(participantId);
      if (p?.self) return;
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
    s.on('chat', (m) => this.#cb.chat?.({ ...m, verified: this.participants.get(m.participantId)?.verified ?? false, self: m.participantId === this.participantId }));
    s.on('handChanged', ({ participantId, raised }) => {
      const p = this.participants.get(participantId);
      if (!p || p.handRaised === raised) return;
      p.handRaised = raised;
      this.#cb.handChanged?.(p, raised);
      this.#cb.changed?.(p);
    });
    s.on('mutedByModerator', ({ source }) => {
      // The server has paused the producer already; follow locally so the UI and the track agree.
      const want = this.#wanted.get(source);
      if (want) want.paused = true;
      const p = this.#producers.get(source);
      if (p && !p.paused) p.pause();
      const state = p ? this.self.producers.get(p.id) : undefined;
      if (state) state.paused = true;
      this.#cb.changed?.(this.self);
      this.#cb.moderated?.('muted', source);
    });
    s.on('unmuteRequested', ({ source }) => this.#cb.moderated?.('unmuteRequested', source));
    s.on('lobbyChanged', ({ waiting }) => {
      this.lobby = waiting;
      this.#cb.lobby?.(waiting);
    });
    s.on('roomLocked', ({ locked }) => {
      this.locked = locked;
      this.#cb.roomLocked?.(locked);
    });
    s.on('mediaMoved', ({ routerRtpCapabilities }) => this.#onMediaMoved(routerRtpCapabilities));
    s.on('mediaUnavailable', ({ code }) => {
      // Our node is gone and no other may take us yet: drop the dead media; mediaMoved brings it back.
      this.#moveGeneration++;
      this.#dropMedia();
      this.#cb.mediaUnavailable?.(code);
    });
    s.onclose = (code) => this.#onSocketClosed(s, code);
  }

  // --- internals: media ---

  #resetPolicy(): void {
    this.#policy.send = this.#policy.recv = diagnostics.relayOnly ? 'relay' : 'all';
  }

  async #createTransport(direction: Direction): Promise<types.Transport> {
    const opts = await this.#request('createTransport', { direction });
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
    tr.observer.once('close', () => {
      clearTimeout(this.#renewTimers.get(tr));
      this.#renewTimers.delete(tr);
    });
    this.#scheduleRenewal(direction, tr, opts.iceServers.length ? opts.iceServersExpireIn : undefined);
    // From its first use, a transport has CONNECT_TIMEOUT_MS to connect (ICE may also never start, when
    // no candidate is usable: the state then stays 'new').
    let timer: ReturnType<typeof setTimeout> | undefined;
    tr.on('connect', ({ dtlsParameters }, ok, fail) => {
      timer ??= setTimeout(() => tr.connectionState !== 'connected' && void this.#onFailed(direction, tr), CONNECT_TIMEOUT_MS);
      this.#request('connectTransport', { transportId: tr.id, dtlsParameters: dtlsParameters as never }).then(() => ok(), fail);
    });
    if (direction === 'send') {
      tr.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        const source = (appData as { source: MediaSource }).source;
        this.#request('produce', { transportId: tr.id, kind, rtpParameters: rtpParameters as never, source }).then(({ producerId }) => ok({ id: producerId }), fail);
      });
    }
    let wasConnected = false;
    let restartTimer: ReturnType<typeof setTimeout> | undefined;
    tr.on('connectionstatechange', (state) => {
      if (state === 'connected' || state === 'closed') clearTimeout(timer);
      if (state === 'connected') {
        wasConnected = true;
        clearTimeout(restartTimer);
      }
      // A path that worked and broke (network change, Wi-Fi to LTE): 'disconnected' may heal by itself,
      // so wait a moment, then restart ICE on the same transport — producers and consumers stay.
      if (wasConnected && (state === 'disconnected' || state === 'failed') && !this.#iceRestarting.has(tr)) {
        clearTimeout(restartTimer);
        restartTimer = setTimeout(() => void this.#restartIce(direction, tr), state === 'failed' ? 0 : ICE_RESTART_AFTER_MS);
        return;
      }
      // Never connected: the direct path is blocked; make it again through TURN.
      if (state === 'failed') void this.#onFailed(direction, tr);
    });
    return tr;
  }

  /** Restarts ICE on a transport now, whatever its state (diagnostics, and the e2e test of the restart). */
  restartIce(direction: Direction): Promise<void> {
    const tr = direction === 'send' ? this.#send : this.#recv;
    return tr ? this.#restartIce(direction, tr, true) : Promise.resolve();
  }

  /** Transports whose ICE restart is under way (one at a time each). */
  readonly #iceRestarting = new Set<types.Transport>();
  /** Each transport's pending renewal of its TURN credentials. */
  readonly #renewTimers = new Map<types.Transport, ReturnType<typeof setTimeout>>();

  /** Renews the transport's TURN credentials (an ICE restart) before they expire in `expireIn` seconds. */
  #scheduleRenewal(direction: Direction, tr: types.Transport, expireIn: number | undefined): void {
    clearTimeout(this.#renewTimers.get(tr));
    this.#renewTimers.delete(tr);
    if (!expireIn || tr.closed) return;
    const ms = expireIn * 1000 * (RENEW_FROM + Math.random() * (RENEW_TO - RENEW_FROM));
    this.#renewTimers.set(tr, setTimeout(() => {
      this.#renewTimers.delete(tr);
      this.turnRenewals++;
      void this.#restartIce(direction, tr, true, 'renew');
    }, ms));
  }

  /** How often TURN credentials were renewed (diagnostics and tests). */
  turnRenewals = 0;

  /**
   * New ICE credentials from the node for the same transport. If the path does not come back within
   * ICE_RESTART_TIMEOUT_MS (or the restart fails), the transport is made again relay-only (#onFailed).
   */
  async #restartIce(direction: Direction, tr: types.Transport, evenIfConnected = false, why: 'broken' | 'renew' = 'broken'): Promise<void> {
    const current = direction === 'send' ? this.#send : this.#recv;
    if (this.#closed || tr !== current || tr.closed || (tr.connectionState === 'connected' && !evenIfConnected) || this.#iceRestarting.has(tr)) return;
    this.#iceRestarting.add(tr);
    try {
      if (why === 'renew') console.info(`treffpunkt: renewing the ${direction} transport's TURN credentials (ICE restart)`);
      else console.warn(`treffpunkt: the ${direction} media path broke; restarting ICE`);
      const { iceParameters, iceServers, iceServersExpireIn } = await this.#request('restartIce', { transportId: tr.id });
      // New TURN credentials first, so that the restart gathers relay candidates with them.
      if (iceServers?.length) await tr.updateIceServers({ iceServers: iceServers as RTCIceServer[] });
      await tr.restartIce({ iceParameters: iceParameters as types.IceParameters });
      this.#scheduleRenewal(direction, tr, iceServers?.length ? iceServersExpireIn : undefined);
      this.iceRestarts++;
      const deadline = Date.now() + ICE_RESTART_TIMEOUT_MS;
      const back = (): boolean => tr.closed || (tr.connectionState as string) === 'connected';
      while (!back() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      if (!back()) throw new Error('ICE did not come back');
    } catch (err) {
      console.warn(`treffpunkt: ICE restart of the ${direction} transport failed`, err);
      void this.#onFailed(direction, tr);
    } finally {
      this.#iceRestarting.delete(tr);
    }
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
    const generation = this.#moveGeneration;
    try {
      const fresh = await this.#createTransport(direction);
      // Closed, or moved to another node meanwhile (the move made its own transports).
      if (this.#closed || generation !== this.#moveGeneration) return fresh.close();
      if (direction === 'send') {
        this.#send = fresh;
        for (const [source, p] of [...this.#producers]) {
          this.#producers.delete(source);
          this.self.producers.delete(p.id);
          p.close();
          await this.#request('closeProducer', { producerId: p.id }).catch(() => undefined);
        }
        // A camera that is switched off has no track: it is produced again when it is switched on.
        for (const source of SOURCE_ORDER) await this.#produce(source);
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

  /**
   * mediaMoved: drop the old media at once (the server has forgotten it), then rebuild on the new node.
   * Rebuilds run one after another; a newer mediaMoved makes an older rebuild stop where it is.
   */
  #onMediaMoved(caps: RtpCapabilities): void {
    const generation = ++this.#moveGeneration;
    this.#dropMedia();
    this.#cb.mediaUnavailable?.(null);
    this.#moving = this.#moving
      .then(() => this.#rebuildMedia(caps, generation))
      .catch((err) => {
        if (generation !== this.#moveGeneration || this.#closed) return;
        console.warn('treffpunkt: setting up media on the new node failed', err);
        this.#cb.notice?.('mediaFailed');
      });
  }

  async #rebuildMedia(caps: RtpCapabilities, generation: number): Promise<void> {
    const stale = () => generation !== this.#moveGeneration || this.#closed;
    if (stale()) return;
    const device = new Device();
    await device.load({ routerRtpCapabilities: caps as types.RtpCapabilities });
    if (stale()) return;
    this.#device = device;
    // A new node is a new network path: try the direct one again (?relay=1 still forces the relay).
    this.#resetPolicy();
    const [send, recv] = await Promise.all([this.#createTransport('send'), this.#createTransport('recv')]);
    if (stale()) {
      send.close();
      recv.close();
      return;
    }
    this.#send = send;
    this.#recv = recv;
    // Our microphone first, then everything else at once: cameras and screen out, everyone's media in
    // (audio first within consumeExisting). Sequential steps would add a round trip each.
    const produce = (source: MediaSource) => this.#produce(source).catch((err) => console.warn(`treffpunkt: producing ${source} on the new node failed`, err));
    await produce('microphone');
    if (stale()) return;
    await Promise.all([...SOURCE_ORDER.filter((s) => s !== 'microphone').map(produce), this.consumeExisting()]);
    if (stale()) return;
    this.mediaMoves++;
    this.#cb.mediaMoved?.(this.mediaMoves);
  }

  /** Closes our transports, producers and consumers locally, telling the server nothing (it forgot them). */
  #dropMedia(): void {
    for (const p of this.#producers.values()) {
      this.self.producers.delete(p.id);
      try {
        p.close();
      } catch {
        // already closed with its transport
      }
    }
    this.#producers.clear();
    for (const producerId of [...this.#consumers.keys()]) this.#dropConsumer(producerId);
    for (const tr of [this.#send, this.#recv]) {
      try {
        tr?.close();
      } catch {
        // already closed
      }
    }
    this.#send = this.#recv = undefined;
    this.#cb.changed?.(this.self);
  }

  #dropConsumer(producerId: string): void {
    const c = this.#consumers.get(producerId);
    if (!c) return;
    this.#consumers.delete(producerId);
    try {
      c.consumer.close();
    } catch {
      // already closed with its transport
    }
    this.#cb.track?.(c.participantId, producerId, c.source, null);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#offline?.reject(new SignalingError('CLOSED', 'the meeting is over'));
    this.#offline = undefined;
    for (const p of this.#producers.values()) p.close();
    this.#producers.clear();
    for (const c of this.#consumers.values()) c.consumer.close();
    this.#consumers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#signaling.onclose = undefined;
    this.#signaling.close();
  }
}

function fromInfo(p: ParticipantInfo): Participant {
  return {
    id: p.id,
    name: p.name,
    verified: p.verified,
    self: false,
    role: p.role,
    handRaised: p.handRaised,
    joinedAt: Date.now(),
    producers: new Map(p.producers.map((x) => [x.id, { ...x, since: Date.now() }])),
  };
}
