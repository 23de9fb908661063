/**
 * Our media on the current media node: the mediasoup-client device, a send and a receive transport,
 * what we send (sender.ts) and receive (receiver.ts).
 *
 * Relay fallback: when a transport fails (it never connected within its timeout, or an ICE restart did
 * not bring it back: transport-factory.ts), it is made again relay-only (iceTransportPolicy 'relay')
 * and everything on it is produced or consumed again, so a participant behind a firewall that blocks
 * the direct path still gets in. See diagnostics.ts for ?relay=1 and ?transport=tcp. The person is told
 * that media goes through the relay only once a relayed candidate pair is actually in use (getStats),
 * and when even the relay fails, that media is blocked, with what ICE tried (issues 13, 15, 16); a retry
 * makes both transports again, direct path first.
 *
 * Node change: `mediaMoved` means our media node is gone (or draining) and the room put us on another.
 * Everything media is rebuilt there: the device (kept when the new router's capabilities are the same),
 * new transports, our sources produced again (audio first) and everyone's producers consumed again; the
 * roster, chat and tiles stay.
 *
 * A draining node (`keepOld`, issue 14) is left make-before-break: handover.ts keeps the old node's media
 * flowing until the new one plays.
 */
import { Device, type types } from 'mediasoup-client';
import type { MediaSource, RtpCapabilities } from '../../../shared/media-types.ts';
import { diagnostics } from '../diagnostics.ts';
import type { JoinResult, JoinTransport, Params } from '../../../shared/signaling.ts';
import type { Signaling } from '../signaling.ts';
import { SOURCE_ORDER } from './encodings.ts';
import { Receiver } from './receiver.ts';
import { Sender } from './sender.ts';
import { candidatePairs, triedPaths, type CandidatePair } from './stats.ts';
import { TransportFactory } from './transport-factory.ts';
import { Handover, type KeepOld, switchWait } from './handover.ts';
import { mark } from '../timeline.ts';
import type { Direction, MediaContext, MediaPath } from './types.ts';

/** How long a failure report waits for the other direction's failure (they come together). */
const REPORT_DELAY_MS = 1_000;
/** How often the receiver looks for remote producers it receives nothing of (Receiver.consumeMissing). */
const CONSUME_CHECK_MS = 2_000;
/** The transports a join made for us (JoinMedia), if any. */
type MadeWithJoin = JoinResult['transports'];
export class MediaSession {
  /** How often our media was moved to another node and set up there (tests wait on it). */
  mediaMoves = 0;
  /** The old node's media while a handover (a keepOld move) switches over: handover.ts. */
  readonly handover: Handover;
  readonly sender: Sender;
  readonly receiver: Receiver;
  readonly transports: TransportFactory;
  readonly #ctx: MediaContext;
  #device = new Device();
  /** The router capabilities #device was loaded with (JSON): a node change to the same ones keeps it. */
  #deviceCaps: string | undefined;
  readonly #current: Record<Direction, types.Transport | undefined> = { send: undefined, recv: undefined };
  /** The policy the next transport of each direction is made with ('relay' after a fallback). */
  readonly #policy: Record<Direction, RTCIceTransportPolicy> = { send: 'all', recv: 'all' };
  /** Transports whose failure is being handled (the connect timeout and ICE's 'failed' may both report one). */
  readonly #failedHandled = new WeakSet<types.Transport>();
  /** Node changes: each mediaMoved gets a number, and a rebuild that is no longer the latest stops. */
  #moveGeneration = 0;
  #moving: Promise<void> = Promise.resolve();
  /** What the person was last told about the media path (a change is told once, not per transport). */
  #path: MediaPath = diagnostics.relayOnly ? 'relay' : 'direct';
  /** What ICE tried on the transports that failed since the last success: the diagnostics of 'mediaFailed'. */
  #tried: string[] = [];
  /** The transports that failed since the last success (what `reportMediaFailure` tells the edge). */
  #failedTransports: Params<'reportMediaFailure'>['transports'] = [];
  /** A report to the edge waits this long, so that both transports failing make one report. */
  #reportTimer: ReturnType<typeof setTimeout> | undefined;
  /** The receiver's periodic look for producers it receives nothing of. */
  readonly #consumeCheck: ReturnType<typeof setInterval>;

  constructor(ctx: MediaContext) {
    this.#ctx = ctx;
    this.#resetPolicy();
    const device = () => this.#device;
    this.sender = new Sender(ctx, () => this.#current.send, device);
    this.receiver = new Receiver(ctx, () => this.#current.recv, device);
    this.handover = new Handover(ctx, this.sender, this.receiver);
    this.transports = new TransportFactory(ctx, device, {
      current: (direction) => this.#current[direction],
      failed: (direction, tr) => void this.#onFailed(direction, tr),
    });
    this.#consumeCheck = setInterval(() => this.receiver.consumeMissing(), CONSUME_CHECK_MS);
  }

  /** Loads the device for the node's router and makes both transports (or takes those the join made). */
  async start(caps: RtpCapabilities, made?: MadeWithJoin): Promise<void> {
    await this.#device.load({ routerRtpCapabilities: caps as types.RtpCapabilities });
    mark('device-loaded');
    this.#deviceCaps = JSON.stringify(caps);
    [this.#current.send, this.#current.recv] = await Promise.all([
      this.#create('send', this.#policy.send, made?.send),
      this.#create('recv', this.#policy.recv, made?.recv),
    ]);
  }

  /**
   * Tries the media path again after it failed (the banner's "Retry"): an ICE restart of each transport
   * that is not connected (new ICE and TURN credentials, the same transport, so producers and consumers
   * stay), which fails again into the banner if the network still blocks media. Not new transports: the
   * edge allows a participant four (TREFFPUNKT_MAX_TRANSPORTS), and the relay fallback has used them.
   * A direction without a transport (setting up media on a new node failed) gets one made.
   */
  async retry(): Promise<void> {
    this.#tell('retrying');
    this.#forgetFailures();
    await Promise.all(
      (['send', 'recv'] as const).map(async (direction) => {
        const tr = this.#current[direction];
        if (!tr || tr.closed) return this.#replace(direction, this.#policy[direction]);
        if (tr.connectionState === 'connected') return;
        this.#failedHandled.delete(tr);
        await this.transports.restartIce(direction, tr, true);
      }),
    );
  }

  transport(direction: Direction): types.Transport | undefined {
    return this.#current[direction];
  }

  listen(s: Signaling): void {
    s.on('consumerClosed', ({ consumerId }) => this.receiver.dropConsumerId(consumerId));
    s.on('mutedByModerator', ({ source }) => {
      this.sender.mutedByModerator(source);
      this.#ctx.cb.moderated?.('muted', source);
    });
    s.on('mediaMoved', ({ routerRtpCapabilities, keepOld, staying, keepOldMs }) => {
      mark('move-received');
      this.#onMediaMoved(
        routerRtpCapabilities,
        true,
        keepOld ? { staying: new Set(staying ?? []), waitMs: switchWait(keepOldMs) } : undefined,
      );
    });
    s.on('oldMediaClosed', () => this.handover.closeOld());
    s.on('mediaUnavailable', ({ code }) => {
      // Our node is gone and no other may take us yet: drop the dead media; mediaMoved brings it back.
      this.#moveGeneration++;
      this.#dropMedia();
      this.#ctx.cb.mediaUnavailable?.(code);
    });
  }

  /** After a resume: our media stayed on the node; finish what the socket loss cut off. */
  resumed(onServer: readonly { id: string }[]): void {
    this.sender.closeUnknown(onServer);
  }

  /**
   * After we joined the room again as a new participant: the server knows none of our media. Rebuilt
   * as after a node change (on the node the new join gave us), without counting as one.
   */
  rejoined(caps: RtpCapabilities, made?: MadeWithJoin): void {
    this.#onMediaMoved(caps, false, undefined, made);
  }

  /** Once requests flow again after a resume: producers and consumers that were being made. */
  redoCutOff(): void {
    this.sender.produceAll();
    void this.receiver.consumeExisting();
  }

  candidatePairs(): Promise<CandidatePair[]> {
    return candidatePairs(
      (['send', 'recv'] as const).map((direction) => ({
        direction,
        policy: this.#policy[direction],
        transport: this.#current[direction],
      })),
    );
  }

  /** Closes everything here (the meeting is over; the server ends it with our socket). */
  close(): void {
    this.handover.closeOld();
    this.sender.dropAll();
    this.receiver.close();
    this.#current.send?.close();
    this.#current.recv?.close();
    clearTimeout(this.#reportTimer);
    clearInterval(this.#consumeCheck);
  }

  #resetPolicy(): void {
    this.#policy.send = this.#policy.recv = diagnostics.relayOnly ? 'relay' : 'all';
  }

  /** A transport failed: make it again relay-only and move everything onto the new one. */
  async #onFailed(direction: Direction, failed: types.Transport): Promise<void> {
    const ctx = this.#ctx;
    if (
      ctx.closed() ||
      failed !== this.#current[direction] ||
      failed.connectionState === 'connected' ||
      this.#failedHandled.has(failed)
    )
      return;
    this.#failedHandled.add(failed);
    const policy = this.transports.policyOf(failed);
    await this.#noteTried(direction, policy, failed);
    if (policy === 'relay') {
      this.#failedTransports.push({ direction, transportId: failed.id, policy });
      console.warn(`treffpunkt: the ${direction} transport failed through the relay too; media is blocked`);
      this.#tell('mediaFailed');
      return;
    }
    console.warn(`treffpunkt: the ${direction} transport failed; retrying through TURN (relay only, TLS too)`);
    this.#policy[direction] = 'relay';
    await this.#replace(direction, 'relay');
  }

  /** Makes the transport of a direction anew with `policy` and moves our producers or consumers onto it. */
  async #replace(direction: Direction, policy: RTCIceTransportPolicy): Promise<void> {
    const ctx = this.#ctx;
    const old = this.#current[direction];
    const generation = this.#moveGeneration;
    try {
      const fresh = await this.#create(direction, policy);
      // Closed, or moved to another node meanwhile (the move made its own transports).
      if (ctx.closed() || generation !== this.#moveGeneration) return fresh.close();
      this.#current[direction] = fresh;
      if (direction === 'send') {
        await this.sender.closeAll();
        // A camera that is switched off has no track: it is produced again when it is switched on.
        for (const source of SOURCE_ORDER) await this.sender.produce(source);
        ctx.cb.changed?.(ctx.roster.self);
      } else {
        this.receiver.consumeAllAgain();
      }
    } catch (err) {
      console.warn(`treffpunkt: making the ${direction} transport again (${policy}) failed`, err);
      this.#tried.push(`${direction} (${policy}): ${err instanceof Error ? err.message : String(err)}`);
      this.#failedTransports.push({ direction, policy });
      this.#tell('mediaFailed');
    } finally {
      old?.close();
    }
  }

  /** Makes a transport and tells the person which path it took once it connects. */
  async #create(direction: Direction, policy: RTCIceTransportPolicy, made?: JoinTransport): Promise<types.Transport> {
    const tr = await this.transports.create(direction, policy, made);
    tr.on('connectionstatechange', (state) => {
      if (state === 'connected') void this.#connected(direction, policy, tr);
    });
    return tr;
  }

  /**
   * A transport connected: read the candidate pair it selected, and say "relay" only if it is relayed
   * (a relay-only transport whose pair is not known yet is not claimed). Another path, after a failure
   * or a fallback, clears what was said.
   */
  async #connected(direction: Direction, policy: RTCIceTransportPolicy, tr: types.Transport): Promise<void> {
    const [pair] = await candidatePairs([{ direction, policy, transport: tr }]);
    if (this.#ctx.closed() || tr !== this.#current[direction] || tr.connectionState !== 'connected') return;
    this.#forgetFailures();
    const relayed = pair?.localType === 'relay';
    const other = this.#current[direction === 'send' ? 'recv' : 'send'];
    const otherRelayed = other !== undefined && this.transports.policyOf(other) === 'relay';
    if (relayed) this.#tell('relay');
    else if (!otherRelayed && pair?.localType !== undefined) this.#tell('direct');
  }

  async #noteTried(
    direction: Direction,
    policy: RTCIceTransportPolicy | undefined,
    tr: types.Transport,
  ): Promise<void> {
    const { gathered, pairs } = await triedPaths(tr).catch(() => ({ gathered: [], pairs: [] }));
    const mode = policy === 'relay' ? 'relay only' : 'direct, then relay';
    this.#tried.push(
      `${direction} transport (${mode}): ${tr.connectionState}`,
      `  gathered here: ${gathered.join(', ') || 'no candidates'}`,
      ...(pairs.length ? pairs.map((p) => `  ${p}`) : ['  no candidate pair was checked']),
    );
  }

  /** Tells the UI about a change of the media path (once per change: two transports, one notice). */
  #tell(path: MediaPath): void {
    if (path === this.#path && path !== 'mediaFailed') return;
    this.#path = path;
    this.#ctx.cb.notice?.(path, [...this.#tried], this.transports.triedPaths());
    if (path === 'mediaFailed') this.#reportFailure();
  }

  #forgetFailures(): void {
    this.#tried = [];
    this.#failedTransports = [];
    clearTimeout(this.#reportTimer);
    this.#reportTimer = undefined;
  }

  /**
   * Tells the edge that media failed, so that the operator sees it (issue 13): once for failures that
   * come together (both transports), sized to what the edge accepts (shared/signaling.ts).
   */
  #reportFailure(): void {
    if (this.#reportTimer !== undefined) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      if (this.#ctx.closed()) return;
      // Control characters and a surrogate pair cut in half would be refused (BAD_MESSAGE).
      const line = (s: string) =>
        s
          .replace(/[\u0000-\u001f\u007f-\u009f]/gu, ' ')
          .slice(0, 200)
          .replace(/[\ud800-\udbff]$/, '');
      this.#ctx
        .request('reportMediaFailure', {
          transports: this.#failedTransports.slice(-4),
          paths: this.transports.triedPaths(),
          tried: this.#tried.slice(0, 24).map(line),
        })
        .catch((err) => console.warn('treffpunkt: reporting the media failure to the edge failed', err));
    }, REPORT_DELAY_MS);
  }

  /**
   * mediaMoved: drop the old media at once (the server has forgotten it), or with `staying` (keepOld)
   * keep it playing, then rebuild on the new node. Rebuilds run one after another; a newer mediaMoved
   * makes an older rebuild stop where it is.
   */
  #onMediaMoved(caps: RtpCapabilities, isMove = true, keepOld?: KeepOld, made?: MadeWithJoin): void {
    const generation = ++this.#moveGeneration;
    if (keepOld) this.#keepOld(keepOld);
    else this.#dropMedia();
    this.#ctx.cb.mediaUnavailable?.(null);
    this.#moving = this.#moving
      .then(() => this.#rebuild(caps, generation, isMove, keepOld !== undefined, made))
      .catch((err) => {
        if (generation !== this.#moveGeneration || this.#ctx.closed()) return;
        console.warn('treffpunkt: setting up media on the new node failed', err);
        this.#tried.push(`media on the new node: ${err instanceof Error ? err.message : String(err)}`);
        this.#tell('mediaFailed');
      });
  }

  /** `keepOld`: a handover, which says mediaMoveDone once switched over. */
  async #rebuild(
    caps: RtpCapabilities,
    generation: number,
    isMove: boolean,
    keepOld: boolean,
    made?: MadeWithJoin,
  ): Promise<void> {
    const stale = () => generation !== this.#moveGeneration || this.#ctx.closed();
    if (stale()) return;
    const device = await this.#deviceFor(caps);
    if (stale()) return;
    mark('move-device-loaded');
    this.#device = device;
    this.#deviceCaps = JSON.stringify(caps);
    // A new node is a new network path: try the direct one again (?relay=1 still forces the relay).
    this.#resetPolicy();
    const [send, recv] = await Promise.all([
      this.#create('send', this.#policy.send, made?.send),
      this.#create('recv', this.#policy.recv, made?.recv),
    ]);
    if (stale()) {
      send.close();
      recv.close();
      return;
    }
    this.#current.send = send;
    this.#current.recv = recv;
    mark('move-transports-made');
    // Our microphone first, then everything else at once: cameras and screen out, everyone's media in
    // (audio first within consumeExisting). Sequential steps would add a round trip each.
    const produce = (source: MediaSource) =>
      this.sender
        .produce(source)
        .catch((err) => console.warn(`treffpunkt: producing ${source} on the new node failed`, err));
    await produce('microphone');
    if (stale()) return;
    await Promise.all([
      Promise.all(SOURCE_ORDER.filter((s) => s !== 'microphone').map(produce)).then(() => mark('move-produced')),
      this.receiver.consumeExisting().then(() => mark('move-consumed')),
    ]);
    if (stale() || !isMove) return;
    this.mediaMoves++;
    this.#ctx.cb.mediaMoved?.(this.mediaMoves);
    // Not part of the rebuild chain: a newer move need not wait for this one's switch-over.
    if (keepOld) void this.handover.sayDone(stale);
  }

  /**
   * The device for a router: the loaded one when the router's capabilities are the same, as they are
   * between nodes of one deployment (the same codecs and mediasoup); else a new one. Loading asks the
   * browser for its own capabilities through an offer of a throwaway RTCPeerConnection: about 100 ms of
   * a node change (docs/benchmarks.md). A device holds nothing of a node but those capabilities.
   */
  async #deviceFor(caps: RtpCapabilities): Promise<Device> {
    if (this.#device.loaded && this.#deviceCaps === JSON.stringify(caps)) return this.#device;
    const device = new Device();
    await device.load({ routerRtpCapabilities: caps as types.RtpCapabilities });
    mark('device-loaded');
    return device;
  }

  /** A handover starts: the current transports become the old node's, with everything on them flowing. */
  #keepOld(keepOld: KeepOld): void {
    const transports = [this.#current.send, this.#current.recv].filter(
      (tr): tr is types.Transport => tr !== undefined && !tr.closed,
    );
    this.#current.send = this.#current.recv = undefined;
    this.handover.begin(transports, keepOld);
    this.#ctx.cb.changed?.(this.#ctx.roster.self);
  }

  /** Closes our transports, producers and consumers locally, telling the server nothing (it forgot them). */
  #dropMedia(): void {
    this.handover.closeOld();
    this.sender.dropAll();
    this.receiver.dropAll();
    for (const tr of [this.#current.send, this.#current.recv]) {
      try {
        tr?.close();
      } catch {
        // already closed
      }
    }
    this.#current.send = this.#current.recv = undefined;
    this.#ctx.cb.changed?.(this.#ctx.roster.self);
  }
}
