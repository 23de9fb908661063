/**
 * What we send: per source the wish (track, muted or not) and the producer made of it on the current
 * send transport. The wish outlives producers: a relay fallback or a node change makes new transports,
 * and produceAll() makes the producers again from the wishes (a muted microphone stays muted, a
 * switched-off camera is produced once it has a track again).
 *
 * A move off a draining node (make-before-break) retires the producers instead of closing them: they
 * keep sending on the old node's transport, following mute and track changes, until the room closes
 * our old media there (dropRetired).
 */
import type { Device, types } from 'mediasoup-client';
import type { MediaKind, MediaSource } from '../../../shared/media-types.ts';
import { asksScalabilityMode, sendVideoCodec, withoutScalabilityMode } from './codecs.ts';
import { produceOptions, SOURCE_ORDER } from './encodings.ts';
import { mark } from '../timeline.ts';
import type { MediaContext } from './types.ts';

/** What we mean to send per source, whether or not a producer exists right now. */
interface Wanted {
  /** null: the source is switched off (a camera without a track); produced again when it gets one. */
  track: MediaStreamTrack | null;
  paused: boolean;
}

export class Sender {
  readonly #ctx: MediaContext;
  readonly #transport: () => types.Transport | undefined;
  readonly #device: () => Device;
  readonly #wanted = new Map<MediaSource, Wanted>();
  readonly #producers = new Map<MediaSource, types.Producer>();
  readonly #producing = new Set<MediaSource>();
  /** Our producers on the transport of the node we are leaving (a handover), per source. */
  readonly #retired = new Map<MediaSource, types.Producer>();

  /** `transport` and `device`: the current send transport and device (both change on a node change). */
  constructor(ctx: MediaContext, transport: () => types.Transport | undefined, device: () => Device) {
    this.#ctx = ctx;
    this.#transport = transport;
    this.#device = device;
  }

  /** The producers now, per source (statistics read them). */
  get producers(): ReadonlyMap<MediaSource, types.Producer> {
    return this.#producers;
  }

  has(source: MediaSource): boolean {
    return this.#producers.has(source);
  }

  isPaused(source: MediaSource): boolean {
    return this.#producers.get(source)?.paused ?? this.#wanted.get(source)?.paused ?? true;
  }

  async publish(source: MediaSource, track: MediaStreamTrack, paused: boolean): Promise<void> {
    if (!this.#device().canProduce(track.kind as MediaKind) || this.#producers.has(source)) return;
    this.#wanted.set(source, { track, paused });
    await this.produce(source);
  }

  async setTrack(source: MediaSource, track: MediaStreamTrack | null): Promise<void> {
    const want = this.#wanted.get(source);
    if (want) want.track = track;
    await this.#retired
      .get(source)
      ?.replaceTrack({ track })
      .catch(() => undefined);
    await this.#producers.get(source)?.replaceTrack({ track });
  }

  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const want = this.#wanted.get(source);
    if (want) want.paused = paused;
    // Muted means muted for everyone, also for those still receiving our old producer.
    const retired = this.#retired.get(source);
    if (retired && !retired.closed) {
      if (paused) retired.pause();
      else retired.resume();
    }
    const p = this.#producers.get(source);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    const self = this.#ctx.roster.self;
    const state = self.producers.get(p.id);
    if (state) state.paused = paused;
    this.#ctx.cb.changed?.(self);
    await this.#ctx.request('setProducerPaused', { producerId: p.id, paused });
  }

  async unpublish(source: MediaSource): Promise<void> {
    this.#wanted.delete(source);
    this.#retired.get(source)?.close();
    this.#retired.delete(source);
    const p = this.#producers.get(source);
    if (!p) return;
    this.#producers.delete(source);
    this.#ctx.roster.self.producers.delete(p.id);
    p.close();
    this.#ctx.cb.changed?.(this.#ctx.roster.self);
    await this.#ctx.request('closeProducer', { producerId: p.id }).catch(() => undefined);
  }

  /** A moderator paused one of our sources on the server: follow locally so the UI and the track agree. */
  mutedByModerator(source: MediaSource): void {
    const want = this.#wanted.get(source);
    if (want) want.paused = true;
    const p = this.#producers.get(source);
    if (p && !p.paused) p.pause();
    const retired = this.#retired.get(source);
    if (retired && !retired.closed) retired.pause();
    const self = this.#ctx.roster.self;
    const state = p ? self.producers.get(p.id) : undefined;
    if (state) state.paused = true;
    this.#ctx.cb.changed?.(self);
  }

  /**
   * After a resume: a producer the room has for us that we do not know had its `produce` reply lost
   * with the old socket (the request is made again). Closed, or the others would see a stream that
   * never comes.
   */
  closeUnknown(onServer: readonly { id: string }[]): void {
    const mine = new Set([...this.#producers.values()].map((p) => p.id));
    for (const x of onServer) {
      if (!mine.has(x.id)) void this.#ctx.request('closeProducer', { producerId: x.id }).catch(() => undefined);
    }
  }

  /** Produces every wished-for source that has no producer, in SOURCE_ORDER; failures are logged. */
  produceAll(): void {
    for (const source of SOURCE_ORDER)
      void this.produce(source).catch((err) => console.warn(`treffpunkt: producing ${source} failed`, err));
  }

  /** Closes our producers here and on the server (their transport is being replaced). */
  async closeAll(): Promise<void> {
    const self = this.#ctx.roster.self;
    for (const [source, p] of [...this.#producers]) {
      this.#producers.delete(source);
      self.producers.delete(p.id);
      p.close();
      await this.#ctx.request('closeProducer', { producerId: p.id }).catch(() => undefined);
    }
  }

  /**
   * A handover starts: our producers keep sending on the old transport, out of our own roster entry
   * (the room forgot them); the wishes are produced again on the new transport.
   */
  retire(): void {
    this.dropRetired();
    for (const [source, p] of this.#producers) {
      this.#retired.set(source, p);
      this.#ctx.roster.self.producers.delete(p.id);
    }
    this.#producers.clear();
  }

  /** The room closes our old media: the retired producers close here (the server has forgotten them). */
  dropRetired(): void {
    for (const p of this.#retired.values()) {
      try {
        p.close();
      } catch {
        // already closed with its transport
      }
    }
    this.#retired.clear();
  }

  /** Closes our producers here only (the server has forgotten them, or the meeting is over). */
  dropAll(): void {
    this.dropRetired();
    for (const p of this.#producers.values()) {
      this.#ctx.roster.self.producers.delete(p.id);
      try {
        p.close();
      } catch {
        // already closed with its transport
      }
    }
    this.#producers.clear();
  }

  /**
   * Produces what we want to send of `source` on the current send transport, unless that is done or
   * under way. If the transport is replaced while producing (relay fallback, node change), the producer
   * is dropped and the source produced again on the new one.
   */
  async produce(source: MediaSource): Promise<void> {
    const ctx = this.#ctx;
    const want = this.#wanted.get(source);
    const send = this.#transport();
    const track = want?.track;
    if (
      !want ||
      !track ||
      track.readyState !== 'live' ||
      !send ||
      ctx.closed() ||
      this.#producers.has(source) ||
      this.#producing.has(source)
    )
      return;
    if (!this.#device().canProduce(track.kind as MediaKind)) return;
    this.#producing.add(source);
    let again = false;
    try {
      // Muted from the first packet: a disabled track makes the producer start paused (silence/black).
      if (want.paused) track.enabled = false;
      const options = produceOptions(
        source,
        track,
        track.kind === 'video' ? sendVideoCodec(this.#device().sendRtpCapabilities) : undefined,
      );
      const producer = await send
        .produce({ track, appData: { source }, stopTracks: false, ...options })
        .catch((err: unknown) => {
          // WebRTC-SVC: a browser may refuse a scalabilityMode it cannot do (codecs.ts); then its own layering.
          if (!asksScalabilityMode(options.encodings) || send !== this.#transport()) throw err;
          console.warn(`treffpunkt: ${source} refused temporal layers, producing without`, err);
          const encodings = withoutScalabilityMode(options.encodings!);
          return send.produce({ track, appData: { source }, stopTracks: false, ...options, encodings });
        });
      if (ctx.closed()) return producer.close();
      if (send !== this.#transport() || this.#wanted.get(source) !== want) {
        // Replaced or given up meanwhile: this producer is not wanted (the server may not know it any more).
        producer.close();
        void ctx.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
        // A new transport, or a new wish for this source (publish with another track): produce that.
        again = send !== this.#transport() || this.#wanted.has(source);
        return;
      }
      this.#producers.set(source, producer);
      mark(`produced-${source}`);
      ctx.roster.self.producers.set(producer.id, {
        id: producer.id,
        kind: producer.kind as MediaKind,
        source,
        paused: false,
        since: Date.now(),
      });
      // The wish may have changed while producing (a click on mute, a moderator's mute).
      if (want.paused) await this.setPaused(source, true);
      else ctx.cb.changed?.(ctx.roster.self);
    } catch (err) {
      if (send === this.#transport() && !ctx.closed()) throw err;
      again = !ctx.closed();
    } finally {
      this.#producing.delete(source);
      if (again)
        void this.produce(source).catch((err) => console.warn(`treffpunkt: producing ${source} again failed`, err));
    }
  }
}
