/**
 * What we receive: a consumer per remote producer on the current receive transport, and the simulcast
 * layer the UI wants for each camera. A consumer made on a transport that was replaced meanwhile is
 * made again on the new one.
 *
 * Make-before-break (a move off a draining node, issue 14): the consumers on the old node's transport
 * stay ("old") and keep playing in their tiles; a new consumer of the same participant's source takes
 * the tile over once it has decoded (or at once when its producer is paused), and the old one closes
 * then. The same holds for a remote participant who moved while we stayed: its new producer's consumer
 * replaces the old producer's once it decodes. Producers being replaced ("retired") are not consumed again.
 */
import type { Device, types } from 'mediasoup-client';
import type { MediaKind, MediaSource } from '../../../shared/media-types.ts';
import { diagnostics } from '../diagnostics.ts';
import { hasDecoded } from './stats.ts';
import type { MediaContext } from './types.ts';

export interface RemoteConsumer {
  consumer: types.Consumer;
  participantId: string;
  source: MediaSource;
  kind: MediaKind;
  /** The spatial layer last asked for (undefined: the SFU's default, the highest). */
  layer?: number;
  /** For the loss measurement (stats.ts receiveLoss): the counters at the last poll. */
  lastPackets?: { received: number; lost: number };
  /** Consecutive polls in which nothing arrived. */
  emptyPolls: number;
}

/** How many failed consumes in a row consumeMissing retries a producer. */
const MISSING_RETRIES = 3;
/**
 * How long a tile keeps playing the consumer a new one replaces while the new one has not decoded: then
 * the new one takes over anyway (its producer may never send: a camera whose owner lost it). During a
 * handover, the room says how long it keeps the old media (mediaMoved's keepOldMs), and that bounds it.
 */
export const SWITCH_TIMEOUT_MS = 10_000;
/** How often a replacing consumer is asked whether it has decoded. */
const SWITCH_POLL_MS = 100;

/** A consumer that a new one replaces: on the old node's transport (`old`), or a current one of an older producer. */
interface Replaced {
  producerId: string;
  entry: RemoteConsumer;
  old: boolean;
}

export class Receiver {
  readonly #ctx: MediaContext;
  readonly #transport: () => types.Transport | undefined;
  readonly #device: () => Device;
  /** producerId → what we receive of it. */
  readonly #consumers = new Map<string, RemoteConsumer>();
  /**
   * producerId → the transport a consumer for it is being made on. Only a consume on the current transport
   * makes another wait: one still under way on a replaced transport (the relay fallback) may never finish
   * or finish late, and must not keep the producer from being received on the new one.
   */
  readonly #consuming = new Map<string, types.Transport>();
  /** producerId → the spatial layer the UI wants for it (kept for consumers made later). */
  readonly #layers = new Map<string, number>();
  /**
   * producerId → consumes of it that failed in a row on the current transport. consumeMissing gives up
   * after MISSING_RETRIES: a producer this browser cannot receive (a codec it lacks) is not asked for
   * every few seconds for ever.
   */
  readonly #failures = new Map<string, number>();
  /** producerId → consumer on the transport of the node we are leaving (a handover), still playing. */
  readonly #old = new Map<string, RemoteConsumer>();
  /** Producers being replaced by their owners' new ones: never consumed again. */
  readonly #retired = new Set<string>();
  /** Old consumers whose replacement took over after decoding (not after the timeout): the tests read it. */
  switchedOnDecode = 0;
  /** Until when (ms since the epoch) an old consumer's replacement may take to decode (see retire). */
  #oldSwitchBy = 0;

  /** `transport` and `device`: the current receive transport and device (both change on a node change). */
  constructor(ctx: MediaContext, transport: () => types.Transport | undefined, device: () => Device) {
    this.#ctx = ctx;
    this.#transport = transport;
    this.#device = device;
  }

  /** producerId → consumer (statistics read them). */
  get consumers(): ReadonlyMap<string, RemoteConsumer> {
    return this.#consumers;
  }

  /** The consumers still playing on the transport of the node we are leaving (benchmarks read them). */
  get oldConsumers(): ReadonlyMap<string, RemoteConsumer> {
    return this.#old;
  }

  /**
   * A handover starts (mediaMoved with keepOld): every consumer becomes old and keeps playing; the remote
   * producers known now that are not `staying` are being replaced by their owners and are not consumed again.
   * `switchWithinMs`: how long a replacement may take to decode (a little less than the room keeps the old media).
   */
  retire(staying: ReadonlySet<string>, switchWithinMs: number): void {
    this.closeOld();
    this.#oldSwitchBy = Date.now() + switchWithinMs;
    for (const [producerId, c] of this.#consumers) this.#old.set(producerId, c);
    this.#consumers.clear();
    this.#failures.clear();
    this.switchedOnDecode = 0;
    for (const w of this.#ctx.roster.remoteProducers()) if (!staying.has(w.producerId)) this.#retired.add(w.producerId);
  }

  /**
   * The old media goes (oldMediaClosed, another move, the end): old consumers not yet replaced close, and
   * their tiles go dark unless a new consumer plays there. Producers still marked retired that the room
   * did not close were not replaced after all (a `staying` list cut short): consumeMissing receives them.
   */
  closeOld(): void {
    for (const [producerId, c] of [...this.#old]) this.#closeReplaced({ producerId, entry: c, old: true });
    this.#retired.clear();
  }

  /**
   * Resolves once every old consumer was replaced (or dropped), or when the time retire() gave them is
   * over, or when `stop()` says so.
   */
  async switchedOver(stop: () => boolean): Promise<void> {
    while (this.#old.size > 0 && Date.now() < this.#oldSwitchBy && !stop())
      await new Promise((r) => setTimeout(r, SWITCH_POLL_MS));
  }

  /**
   * Receives what the others send that we receive nothing of and nobody is consuming on the current
   * transport: the safety net for the races of a transport replaced under a consume (the relay fallback of
   * several pages at once, where a producer's owner may also be re-producing). Cheap when nothing is
   * missing: a look at the roster, no request.
   */
  consumeMissing(): void {
    const recv = this.#transport();
    if (!recv || recv.connectionState === 'closed' || this.#ctx.closed()) return;
    for (const w of this.#ctx.roster.remoteProducers())
      if (
        !this.#consumers.has(w.producerId) &&
        this.#consuming.get(w.producerId) !== recv &&
        (this.#failures.get(w.producerId) ?? 0) < MISSING_RETRIES
      )
        void this.consume(w.participantId, w.producerId, w.source);
  }

  /** Receives everything the others send now (audio first). */
  consumeExisting(): Promise<void> {
    return Promise.all(
      this.#ctx.roster.remoteProducers().map((w) => this.consume(w.participantId, w.producerId, w.source)),
    ).then(() => undefined);
  }

  /** Receives a remote producer; called for everyone present at join and for each producerAdded. */
  async consume(participantId: string, producerId: string, source: MediaSource): Promise<void> {
    const ctx = this.#ctx;
    const recv = this.#transport();
    if (
      !recv ||
      this.#consumers.has(producerId) ||
      this.#consuming.get(producerId) === recv ||
      this.#retired.has(producerId) ||
      ctx.closed()
    )
      return;
    this.#consuming.set(producerId, recv);
    let again = false;
    let made: RemoteConsumer | undefined;
    try {
      // A microphone's consumer runs at once (no resumeConsumer round trip); video waits for our side.
      const c = await ctx.request('consume', {
        transportId: recv.id,
        producerId,
        rtpCapabilities: this.#device().recvRtpCapabilities as never,
        ...(source === 'microphone' ? { paused: false } : {}),
      });
      const consumer = await recv.consume({
        id: c.consumerId,
        producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters as types.RtpParameters,
      });
      // The producer or its owner may have gone, or the transport been replaced, while we waited.
      if (recv !== this.#transport() || !ctx.roster.participants.get(participantId)?.producers.has(producerId)) {
        consumer.close();
        again = recv !== this.#transport();
        return;
      }
      const entry: RemoteConsumer = { consumer, participantId, source, kind: c.kind, emptyPolls: 0 };
      made = entry;
      this.#consumers.set(producerId, entry);
      const want = this.#layers.get(producerId);
      if (want !== undefined && c.kind === 'video' && diagnostics.layerSelection) {
        entry.layer = want;
        // Not awaited before the resume: the node keeps the wish until the consumer's first picture
        // (media-node/first-picture-layers.ts), so it may come after the resume, and a round trip is saved.
        void ctx
          .request('setConsumerLayers', { consumerId: c.consumerId, spatialLayer: want })
          .catch((err) => console.warn('treffpunkt: setConsumerLayers failed', err));
      }
      // Dropped meanwhile (consumeAllAgain after a relay fallback): the newer consumer shows the track.
      if (this.#consumers.get(producerId) !== entry) return;
      // Replacing one that plays: the tile keeps the old track until this one decodes.
      const replaced = this.#replacedBy(participantId, producerId, source);
      if (!replaced) ctx.cb.track?.(participantId, producerId, source, consumer.track);
      // An older edge or node says nothing of `paused`: the consumer is paused then.
      if (c.paused !== false) await ctx.request('resumeConsumer', { consumerId: c.consumerId });
      this.#failures.delete(producerId);
      if (replaced) void this.#switchOver(producerId, entry, replaced);
    } catch (err) {
      if (recv !== this.#transport()) again = true;
      else if (!ctx.closed()) {
        this.#failures.set(producerId, (this.#failures.get(producerId) ?? 0) + 1);
        // This consumer is dead on the server (a newer one replaced it, or its producer went): drop it,
        // so that consumeMissing tries again. Never a newer entry made meanwhile.
        if (made && this.#consumers.get(producerId) === made) this.drop(producerId);
        console.warn('treffpunkt: consume failed', err);
      }
    } finally {
      if (this.#consuming.get(producerId) === recv) this.#consuming.delete(producerId);
      // The transport was replaced while this consumer was being made or resumed, and consumeAllAgain
      // dropped it: receive it on the current one. Three pages falling back to the relay at once hit
      // this (locked-network.test.ts): a camera that stayed black.
      if (recv !== this.#transport() && !this.#consumers.has(producerId)) again = true;
      // Made on a transport that was replaced meanwhile: receive it again on the current one.
      if (again && !ctx.closed() && ctx.roster.participants.get(participantId)?.producers.has(producerId))
        await this.consume(participantId, producerId, source);
    }
  }

  /**
   * The simulcast layer wanted for a remote camera (0 = lowest). Requests are only sent when the wish
   * changes; the SFU may still send less under congestion.
   */
  setPreferredLayer(producerId: string, spatialLayer: number): void {
    if (!diagnostics.layerSelection) return;
    this.#layers.set(producerId, spatialLayer);
    const c = this.#consumers.get(producerId);
    if (c?.kind !== 'video' || c.layer === spatialLayer) return;
    c.layer = spatialLayer;
    this.#ctx
      .request('setConsumerLayers', { consumerId: c.consumer.id, spatialLayer })
      .catch((err) => console.warn('treffpunkt: setConsumerLayers failed', err));
  }

  /** The producer is gone for good: its consumer and the layer wish go too. */
  forget(producerId: string): void {
    this.#layers.delete(producerId);
    this.#failures.delete(producerId);
    this.#retired.delete(producerId);
    const old = this.#old.get(producerId);
    if (old) this.#closeReplaced({ producerId, entry: old, old: true });
    this.drop(producerId);
  }

  /** Drops everything received from someone who left. */
  dropParticipant(participantId: string): void {
    for (const [producerId, c] of this.#consumers) if (c.participantId === participantId) this.drop(producerId);
    for (const [producerId, c] of [...this.#old])
      if (c.participantId === participantId) this.#closeReplaced({ producerId, entry: c, old: true });
  }

  /** The consumer that a new one of this participant's source replaces, if one plays. */
  #replacedBy(participantId: string, producerId: string, source: MediaSource): Replaced | undefined {
    for (const [id, c] of this.#old)
      if (c.participantId === participantId && c.source === source) return { producerId: id, entry: c, old: true };
    for (const [id, c] of this.#consumers)
      if (id !== producerId && c.participantId === participantId && c.source === source)
        return { producerId: id, entry: c, old: false };
    return undefined;
  }

  /**
   * Hands the tile from `replaced` to the new consumer once the new one has decoded, its producer is
   * paused (nothing to decode), the replaced one is gone, or after SWITCH_TIMEOUT_MS; then closes the
   * replaced one. A new consumer dropped meanwhile leaves the switch to whoever replaced it.
   */
  async #switchOver(producerId: string, entry: RemoteConsumer, replaced: Replaced): Promise<void> {
    const ctx = this.#ctx;
    const current = () => this.#consumers.get(producerId) === entry && !ctx.closed();
    const playing = () => (replaced.old ? this.#old : this.#consumers).get(replaced.producerId) === replaced.entry;
    const paused = () => ctx.roster.participants.get(entry.participantId)?.producers.get(producerId)?.paused === true;
    const deadline = replaced.old ? this.#oldSwitchBy : Date.now() + SWITCH_TIMEOUT_MS;
    let decoded = false;
    while (current() && playing() && !paused() && Date.now() < deadline) {
      decoded = await hasDecoded(entry.consumer, entry.kind);
      if (decoded) break;
      await new Promise((r) => setTimeout(r, SWITCH_POLL_MS));
    }
    if (!current()) return;
    ctx.cb.track?.(entry.participantId, producerId, entry.source, entry.consumer.track);
    if (!playing()) return;
    if (decoded && replaced.old) this.switchedOnDecode++;
    this.#closeReplaced(replaced);
  }

  /**
   * Closes a replaced (or old) consumer. Its producer is not received again if it is a current one of an
   * older producer (its owner moved); its tile goes dark only if no new consumer of that producer plays.
   */
  #closeReplaced({ producerId, entry, old }: Replaced): void {
    const from = old ? this.#old : this.#consumers;
    if (from.get(producerId) !== entry) return;
    from.delete(producerId);
    if (!old) this.#retired.add(producerId);
    try {
      entry.consumer.close();
    } catch {
      // already closed with its transport
    }
    if (!this.#consumers.has(producerId)) this.#ctx.cb.track?.(entry.participantId, producerId, entry.source, null);
  }

  /** The room closed a consumer of ours (its producer's node went away, say). */
  dropConsumerId(consumerId: string): void {
    for (const [producerId, c] of this.#consumers) if (c.consumer.id === consumerId) this.drop(producerId);
  }

  /** Receives everything again on the current transport (the old one is being replaced). */
  consumeAllAgain(): void {
    for (const [producerId, c] of [...this.#consumers]) {
      this.drop(producerId);
      void this.consume(c.participantId, producerId, c.source);
    }
  }

  /** Closes every consumer here only, telling the UI its track is gone. */
  dropAll(): void {
    this.closeOld();
    for (const producerId of [...this.#consumers.keys()]) this.drop(producerId);
  }

  /** Closes every consumer without a word to the UI (the meeting is over). */
  close(): void {
    for (const c of [...this.#consumers.values(), ...this.#old.values()]) c.consumer.close();
    this.#consumers.clear();
    this.#old.clear();
  }

  drop(producerId: string): void {
    const c = this.#consumers.get(producerId);
    if (!c) return;
    this.#consumers.delete(producerId);
    try {
      c.consumer.close();
    } catch {
      // already closed with its transport
    }
    this.#ctx.cb.track?.(c.participantId, producerId, c.source, null);
  }
}
