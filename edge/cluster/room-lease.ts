/**
 * Room ownership across the cluster (issue 12): a lease key per room in a JetStream KV bucket whose
 * max_age is the lease time. `kv.create` succeeds for exactly one edge while the key is absent (two edges
 * that see a new room at the same instant: compare-and-set decides), `kv.update` on the last revision
 * renews it, and nobody else can take it before it expired or was released.
 *
 * The owner gives up on its own before the server forgets the key: a renewal counts from when it was
 * sent (the server wrote it later), and the owner steps down `margin` before that renewal's lease would
 * run out on the server. So an edge cut off from NATS has stopped acting as owner before any other edge
 * can become one — never two copies of a room.
 */
import type { KV } from '@nats-io/kv';
import { errorFields, type Logger } from '../core/logger.ts';

/** True for the refusal of a compare-and-set (create of an existing key, update of a stale revision). */
export function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (e?.code === 10071 || (typeof e?.message === 'string' && e.message.includes('wrong last sequence'))) return true;
  return e?.cause !== undefined && isWrongRevision(e.cause);
}

export class RoomLeases {
  readonly #kv: KV;
  readonly #edgeId: string;
  readonly #ttlMs: number;
  readonly #log: Logger;

  constructor(kv: KV, edgeId: string, ttlMs: number, log: Logger) {
    this.#kv = kv;
    this.#edgeId = edgeId;
    this.#ttlMs = ttlMs;
    this.#log = log;
  }

  /** The edge that holds the room's lease now, if any (read from the stream's leader). */
  async holder(room: string): Promise<string | undefined> {
    const e = await this.#kv.get(room);
    return e && e.operation === 'PUT' ? e.string() : undefined;
  }

  /**
   * Takes the room's lease if nobody holds it; undefined if another edge does. `onLost` runs once if the
   * lease is lost (renewal refused, or not confirmed in time).
   */
  async acquire(room: string, onLost: (reason: string) => void): Promise<Lease | undefined> {
    const sentAt = performance.now();
    try {
      const revision = await this.#kv.create(room, this.#edgeId);
      return new Lease(this.#kv, room, this.#edgeId, revision, sentAt, this.#ttlMs, this.#log, onLost);
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }
}

export class Lease {
  readonly room: string;
  readonly #kv: KV;
  readonly #edgeId: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #onLost: (reason: string) => void;
  #revision: number;
  /** performance.now() after which this edge must no longer act as the owner. */
  #validUntil: number;
  #renewTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(
    kv: KV,
    room: string,
    edgeId: string,
    revision: number,
    sentAt: number,
    ttlMs: number,
    log: Logger,
    onLost: (reason: string) => void,
  ) {
    this.#kv = kv;
    this.room = room;
    this.#edgeId = edgeId;
    this.#revision = revision;
    this.#ttlMs = ttlMs;
    this.#log = log;
    this.#onLost = onLost;
    this.#validUntil = sentAt + this.#validFor();
    this.#armDeadline();
    this.#scheduleRenewal();
  }

  /** Still ours: renewed in time and not released. */
  get held(): boolean {
    return !this.#ended && performance.now() < this.#validUntil;
  }

  /** How long one renewal lets this edge act: the lease time less a margin for a stalled event loop. */
  #validFor(): number {
    return this.#ttlMs - Math.max(500, this.#ttlMs / 4);
  }

  #scheduleRenewal(): void {
    this.#renewTimer = setTimeout(() => void this.#renew(), this.#ttlMs / 3);
    this.#renewTimer.unref();
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#lose('the lease was not renewed in time'),
      Math.max(0, this.#validUntil - performance.now()),
    );
    this.#deadlineTimer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#ended) return;
    const sentAt = performance.now();
    try {
      this.#revision = await this.#kv.update(this.room, this.#edgeId, this.#revision, this.#ttlMs / 3);
      if (this.#ended) return;
      this.#validUntil = sentAt + this.#validFor();
      this.#armDeadline();
    } catch (err) {
      if (isWrongRevision(err)) return this.#lose('another edge holds the lease');
      // NATS unreachable: keep trying until the deadline timer says we are out.
      this.#log.warn(
        { event: 'roomLeaseRenewalFailed', room: this.room, ...errorFields(err) },
        'could not renew a room lease; retrying',
      );
    }
    if (!this.#ended) this.#scheduleRenewal();
  }

  #lose(reason: string): void {
    if (this.#ended) return;
    this.#stop();
    this.#log.warn(
      { event: 'roomLeaseLost', room: this.room, reason },
      'room lease lost: this edge stops running the room',
    );
    this.#onLost(reason);
  }

  #stop(): void {
    this.#ended = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
  }

  /** Gives the room up (handover): another edge may take it at once. */
  async release(): Promise<void> {
    if (this.#ended) return;
    this.#stop();
    await this.#kv
      .delete(this.room, { previousSeq: this.#revision })
      .catch((err: unknown) =>
        this.#log.warn(
          { event: 'roomLeaseReleaseFailed', room: this.room, ...errorFields(err) },
          'could not release a room lease; it runs out by itself',
        ),
      );
  }
}
