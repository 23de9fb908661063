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
 *
 * Taking over never waits for the server to forget a key: the server's max_age expiry is not a bound
 * one can build on. After every NATS server was killed and restarted at once, a key past its max_age
 * was read back for seconds (the expiry runs on each replica's own timer after recovery), and a renewal
 * the client had buffered while disconnected landed after the restart and wrote the key anew. So a key
 * is taken over, by compare-and-set on the revision read, when
 * - it names this edge but this edge holds no lease for the room: a leftover (an old renewal that landed
 *   late, or a lease this edge stepped down from); nobody acts on it, or
 * - its revision has not changed for longer than a lease time, by the reader's own clock: its holder
 *   renews every third of a lease and stops acting before a lease time after its last confirmed renewal,
 *   so it has stopped (no clocks of two machines are compared).
 * And renewals are not sent while the connection is down, so that none is buffered to land later.
 *
 * Compare-and-set alone does not decide who won on nats-server 2.9.10 (Debian 12's): on a replicated
 * bucket, writes on one key that expect the same revision and arrive at once all succeed (the server checks
 * each against the stored state, not against the writes still in flight; 162 of 200 rounds of three
 * concurrent updates had several successes). So a write counts only if it is the *first* message on the
 * key after the revision it expected, read from the stream's leader: exactly one write is, whatever the
 * timing. That needs the bucket to keep the key's recent messages (`LEASE_HISTORY`); max_age still drops
 * them after a lease time. A write that lost puts the winner's name back on top of its own (compare-and-
 * set on its revision), and a holder whose renewal is refused but whose name the key still carries renews
 * on that revision: so a lost write neither names a non-owner nor costs the winner its lease.
 */
import type { StoredMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { errorFields, type Logger } from '../core/logger.ts';

/**
 * Messages per key the lease bucket keeps (its `history`): the first write after an expected revision must
 * still be there when every concurrent writer checks (header). 64 is JetStream's KV maximum.
 */
export const LEASE_HISTORY = 64;

/** The parts of nats.js's KV bucket (its `Bucket` class) a lease check reads the stream with. */
interface BucketInternals {
  stream: string;
  subjectForKey(key: string): string;
  jsm: { streams: { getMessage(stream: string, query: unknown): Promise<StoredMsg | null> } };
}

/** True for the refusal of a compare-and-set (create of an existing key, update of a stale revision). */
export function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (e?.code === 10071 || (typeof e?.message === 'string' && e.message.includes('wrong last sequence'))) return true;
  return e?.cause !== undefined && isWrongRevision(e.cause);
}

/** A room's lease key as read: the edge it names and its revision (the compare-and-set of a takeover). */
export interface LeaseKey {
  edge: string;
  revision: number;
}

export class RoomLeases {
  readonly #kv: KV;
  readonly #edgeId: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #connected: () => boolean;

  /** `connected`: whether the NATS connection is up now (a renewal is not sent into the client's buffer). */
  constructor(kv: KV, edgeId: string, ttlMs: number, log: Logger, connected: () => boolean = () => true) {
    this.#kv = kv;
    this.#edgeId = edgeId;
    this.#ttlMs = ttlMs;
    this.#log = log;
    this.#connected = connected;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The room's lease key now, if any (read from the stream's leader). */
  async holder(room: string): Promise<LeaseKey | undefined> {
    const e = await this.#kv.get(room);
    return e && e.operation === 'PUT' ? { edge: e.string(), revision: e.revision } : undefined;
  }

  /**
   * Takes the room's lease if nobody holds it; undefined if another edge does. `onLost` runs once if the
   * lease is lost (renewal refused, or not confirmed in time).
   */
  async acquire(room: string, onLost: (reason: string) => void): Promise<Lease | undefined> {
    const sentAt = performance.now();
    try {
      // kv.create, with the revision it expects known: none, or the delete marker of a released lease.
      const last = await this.#kv.get(room);
      if (last?.operation === 'PUT') return undefined;
      const expected = last?.revision ?? 0;
      const revision = last
        ? await this.#kv.update(room, this.#edgeId, expected)
        : await this.#kv.put(room, this.#edgeId, { previousSeq: 0 });
      if (!(await this.#won(room, expected, revision))) return undefined;
      return new Lease(this.#kv, room, this.#edgeId, revision, sentAt, this.#ttlMs, this.#log, onLost, this.#connected);
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  /**
   * Whether the write that got `revision`, expecting the key at `expected`, won: it is the first message on
   * the key after `expected` (header). One that lost puts the winner's name back over its own write.
   */
  async #won(room: string, expected: number, revision: number): Promise<boolean> {
    const bucket = this.#kv as unknown as BucketInternals;
    const first = await bucket.jsm.streams.getMessage(bucket.stream, {
      seq: expected + 1,
      next_by_subj: bucket.subjectForKey(room),
    });
    if (first?.seq === revision) return true;
    if (first) {
      const winner = first.string();
      await this.#kv.update(room, winner, revision).catch(() => {});
      this.#log.debug({ event: 'roomLeaseRaceLost', room, winner }, 'another edge wrote the lease first');
    }
    return false;
  }

  /**
   * Takes the lease over from a key nobody acts on any more (see the header: a leftover of this edge, or
   * one unchanged for over a lease time): compare-and-set on the revision read, so that of several edges
   * that decided so at once exactly one succeeds, and a late renewal of the old holder fails.
   */
  async takeOver(room: string, key: LeaseKey, onLost: (reason: string) => void): Promise<Lease | undefined> {
    if (!this.#connected()) return undefined;
    const sentAt = performance.now();
    try {
      const revision = await this.#kv.update(room, this.#edgeId, key.revision);
      if (!(await this.#won(room, key.revision, revision))) return undefined;
      this.#log.info(
        { event: 'roomLeaseTakenOver', room, from: key.edge, revision: key.revision },
        'took over a room lease its holder no longer renews',
      );
      return new Lease(this.#kv, room, this.#edgeId, revision, sentAt, this.#ttlMs, this.#log, onLost, this.#connected);
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
  readonly #connected: () => boolean;
  #revision: number;
  /** performance.now() after which this edge must no longer act as the owner. */
  #validUntil: number;
  #renewTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The renewal on its way to NATS, if any: a release waits for it (its revision is the one to delete). */
  #renewing: Promise<unknown> | undefined;
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
    connected: () => boolean = () => true,
  ) {
    this.#kv = kv;
    this.#connected = connected;
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

  /** `adopted`: this renewal already took the revision of a key that carries our name (once, not forever). */
  async #renew(adopted = false): Promise<void> {
    if (this.#ended) return;
    // Disconnected: the client would keep the renewal and send it after reconnecting, when this edge may
    // have stepped down long ago; it would write the key anew for a room nobody runs.
    if (!this.#connected()) return this.#scheduleRenewal();
    const sentAt = performance.now();
    try {
      const update = this.#kv.update(this.room, this.#edgeId, this.#revision, this.#ttlMs / 3);
      this.#renewing = update;
      this.#revision = await update;
      if (this.#ended) return;
      this.#validUntil = sentAt + this.#validFor();
      this.#armDeadline();
    } catch (err) {
      if (isWrongRevision(err)) {
        // The key changed under us. Still our name: a write that lost a race to ours put it back (header).
        const now = await this.#kv.get(this.room).catch(() => null);
        if (this.#ended) return;
        if (adopted || now?.operation !== 'PUT' || now.string() !== this.#edgeId)
          return this.#lose('another edge holds the lease');
        this.#revision = now.revision;
        return this.#renew(true);
      }
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
    // A renewal still in flight would land after a delete conditioned on the revision before it, which
    // then fails: the key would stay, and the next owner wait out the lease (seen in room-lease.test.ts).
    await this.#renewing?.catch(() => {});
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
