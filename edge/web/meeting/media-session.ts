/**
 * Our media on the current media node: the mediasoup-client device, a send and a receive transport,
 * what we send (sender.ts) and receive (receiver.ts).
 *
 * Relay fallback: when a transport fails (it never connected within its timeout, or an ICE restart did
 * not bring it back: transport-factory.ts), it is made again relay-only (iceTransportPolicy 'relay')
 * and everything on it is produced or consumed again, so a participant behind a firewall that blocks
 * the direct path still gets in. See diagnostics.ts for ?relay=1 and ?transport=tcp.
 *
 * Node change: `mediaMoved` means our media node is gone (or draining) and the room put us on another.
 * Everything media is rebuilt there: a new device, new transports, our sources produced again (audio
 * first) and everyone's producers consumed again; the roster, chat and tiles stay.
 */
import { Device, type types } from 'mediasoup-client';
import type { MediaSource, RtpCapabilities } from '../../../shared/media-types.ts';
import { diagnostics } from '../diagnostics.ts';
import type { Signaling } from '../signaling.ts';
import { SOURCE_ORDER } from './encodings.ts';
import { Receiver } from './receiver.ts';
import { Sender } from './sender.ts';
import { candidatePairs, type CandidatePair } from './stats.ts';
import { TransportFactory } from './transport-factory.ts';
import type { Direction, MediaContext } from './types.ts';

export class MediaSession {
  /** How often our media was moved to another node and set up there (tests wait on it). */
  mediaMoves = 0;
  readonly sender: Sender;
  readonly receiver: Receiver;
  readonly transports: TransportFactory;
  readonly #ctx: MediaContext;
  #device = new Device();
  readonly #current: Record<Direction, types.Transport | undefined> = { send: undefined, recv: undefined };
  /** The policy the next transport of each direction is made with ('relay' after a fallback). */
  readonly #policy: Record<Direction, RTCIceTransportPolicy> = { send: 'all', recv: 'all' };
  /** Transports whose failure is being handled (the connect timeout and ICE's 'failed' may both report one). */
  readonly #failedHandled = new WeakSet<types.Transport>();
  /** Node changes: each mediaMoved gets a number, and a rebuild that is no longer the latest stops. */
  #moveGeneration = 0;
  #moving: Promise<void> = Promise.resolve();

  constructor(ctx: MediaContext) {
    this.#ctx = ctx;
    this.#resetPolicy();
    const device = () => this.#device;
    this.sender = new Sender(ctx, () => this.#current.send, device);
    this.receiver = new Receiver(ctx, () => this.#current.recv, device);
    this.transports = new TransportFactory(ctx, device, {
      current: (direction) => this.#current[direction],
      failed: (direction, tr) => void this.#onFailed(direction, tr),
    });
  }

  /** Loads the device for the node's router and makes both transports. */
  async start(caps: RtpCapabilities): Promise<void> {
    await this.#device.load({ routerRtpCapabilities: caps as types.RtpCapabilities });
    [this.#current.send, this.#current.recv] = await Promise.all([
      this.transports.create('send', this.#policy.send),
      this.transports.create('recv', this.#policy.recv),
    ]);
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
    s.on('mediaMoved', ({ routerRtpCapabilities }) => this.#onMediaMoved(routerRtpCapabilities));
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
    this.sender.dropAll();
    this.receiver.close();
    this.#current.send?.close();
    this.#current.recv?.close();
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
    if (this.transports.policyOf(failed) === 'relay') {
      ctx.cb.notice?.('mediaFailed', this.transports.triedPaths());
      return;
    }
    console.warn(`treffpunkt: the ${direction} transport failed; retrying through TURN (relay only, TLS too)`);
    this.#policy[direction] = 'relay';
    const generation = this.#moveGeneration;
    try {
      const fresh = await this.transports.create(direction, 'relay');
      ctx.cb.notice?.('relay', this.transports.triedPaths());
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
      console.warn('treffpunkt: relay fallback failed', err);
      ctx.cb.notice?.('mediaFailed', this.transports.triedPaths());
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
    this.#ctx.cb.mediaUnavailable?.(null);
    this.#moving = this.#moving
      .then(() => this.#rebuild(caps, generation))
      .catch((err) => {
        if (generation !== this.#moveGeneration || this.#ctx.closed()) return;
        console.warn('treffpunkt: setting up media on the new node failed', err);
        this.#ctx.cb.notice?.('mediaFailed', this.transports.triedPaths());
      });
  }

  async #rebuild(caps: RtpCapabilities, generation: number): Promise<void> {
    const stale = () => generation !== this.#moveGeneration || this.#ctx.closed();
    if (stale()) return;
    const device = new Device();
    await device.load({ routerRtpCapabilities: caps as types.RtpCapabilities });
    if (stale()) return;
    this.#device = device;
    // A new node is a new network path: try the direct one again (?relay=1 still forces the relay).
    this.#resetPolicy();
    const [send, recv] = await Promise.all([
      this.transports.create('send', this.#policy.send),
      this.transports.create('recv', this.#policy.recv),
    ]);
    if (stale()) {
      send.close();
      recv.close();
      return;
    }
    this.#current.send = send;
    this.#current.recv = recv;
    // Our microphone first, then everything else at once: cameras and screen out, everyone's media in
    // (audio first within consumeExisting). Sequential steps would add a round trip each.
    const produce = (source: MediaSource) =>
      this.sender
        .produce(source)
        .catch((err) => console.warn(`treffpunkt: producing ${source} on the new node failed`, err));
    await produce('microphone');
    if (stale()) return;
    await Promise.all([
      ...SOURCE_ORDER.filter((s) => s !== 'microphone').map(produce),
      this.receiver.consumeExisting(),
    ]);
    if (stale()) return;
    this.mediaMoves++;
    this.#ctx.cb.mediaMoved?.(this.mediaMoves);
  }

  /** Closes our transports, producers and consumers locally, telling the server nothing (it forgot them). */
  #dropMedia(): void {
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
