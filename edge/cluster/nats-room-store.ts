/**
 * A room's snapshot in the cluster's replicated KV bucket (treffpunkt-rooms, one key per room): the
 * RoomStore of a room owned by this edge (issue 12). Saves come one at a time, in the room's order (the
 * Room awaits each inside its queue). Every write is a compare-and-set on the revision this store read or
 * wrote last, so a snapshot written by anyone else since (an owner that should have stepped down) makes
 * the save fail loudly instead of being overwritten. Once the lease is gone the store is revoked: a room
 * that lost its lease can no longer write at all.
 *
 * A snapshot must fit one NATS message (the servers' max_payload, 1 MiB by default): about 1.5 KiB per
 * participant with media, so a full room of 500 fits with room to spare (docs/edge-cluster.md).
 */
import { z } from 'zod';
import type { KV } from '@nats-io/kv';
import { TreffpunktError, ErrorCode } from '../../shared/errors.ts';
import type { RoomSnapshot, RoomStore, SavedRoomSnapshot } from '../core/room/store.ts';
import { isWrongRevision } from './room-lease.ts';

/** How long a save keeps trying through a NATS failover before the request fails (a leader election takes seconds). */
const SAVE_RETRY_MS = 8_000;

/**
 * What is checked of a snapshot read back: its outline. It was written by an edge of this cluster (NATS
 * accounts decide who may), through RoomState.toSnapshot(); RoomState.restore() fills in the rest.
 */
const SnapshotOutline = z.looseObject({
  participants: z.array(z.looseObject({ id: z.string(), name: z.string(), role: z.string() })),
  lobby: z.array(z.looseObject({ id: z.string() })),
  locked: z.boolean(),
});

export class NatsRoomStore implements RoomStore {
  readonly #kv: KV;
  readonly #room: string;
  readonly #maxBytes: number;
  /** The revision of the key as this store last saw it; 0: no value (absent or deleted). */
  #revision = 0;
  #exists = false;
  #revoked = false;
  /** The last write failed without an answer (it may have landed): see #adoptOwnWrite. */
  #uncertain = false;
  /** What the last write tried to store (null: a delete). */
  #lastTried: Uint8Array | null = null;

  /** Whether this edge holds the room's lease now (a refused write is then a stale owner's leftover). */
  readonly #leaseHeld: () => boolean;
  /** The write under way, if any (a handover waits for it before giving up the lease). */
  #writing: Promise<unknown> = Promise.resolve();

  /** Whether the NATS connection is up: a write is not handed to the client while it is down (see save). */
  readonly #connected: () => boolean;

  constructor(kv: KV, room: string, maxBytes: number, leaseHeld: () => boolean, connected: () => boolean = () => true) {
    this.#kv = kv;
    this.#connected = connected;
    this.#room = room;
    this.#maxBytes = maxBytes;
    this.#leaseHeld = leaseHeld;
  }

  /**
   * No more writes: the lease is gone (or being handed over). Resolves once a write already under way has
   * ended, so that the next owner reads the last snapshot and no late write lands after it.
   */
  async revoke(): Promise<void> {
    this.#revoked = true;
    await this.#writing.catch(() => {});
  }

  async load(): Promise<SavedRoomSnapshot | undefined> {
    const e = await this.#kv.get(this.#room);
    this.#revision = e?.revision ?? 0;
    this.#exists = e?.operation === 'PUT';
    if (!e || !this.#exists) return undefined;
    const parsed = SnapshotOutline.safeParse(JSON.parse(e.string()));
    if (!parsed.success)
      throw new TreffpunktError(ErrorCode.Internal, `the stored snapshot of room ${this.#room} is not one`);
    return parsed.data as unknown as SavedRoomSnapshot;
  }

  async save(snapshot: RoomSnapshot | undefined): Promise<void> {
    if (this.#revoked) return;
    const data = snapshot === undefined ? null : new TextEncoder().encode(JSON.stringify(snapshot));
    // Headroom for the message's headers: a value that fills max_payload would be refused by the server.
    if (data && data.length > this.#maxBytes - 1024)
      throw new TreffpunktError(
        ErrorCode.Internal,
        `the snapshot of room ${this.#room} (${data.length} bytes) exceeds the NATS max_payload`,
      );
    // A write that times out (a NATS server died, its streams elect a new leader: seconds) is tried again
    // for a while, in the room's queue, so that the room's order holds and the request waits instead of
    // failing.
    const deadline = performance.now() + SAVE_RETRY_MS;
    let tookOver = false;
    for (;;) {
      try {
        // While disconnected the client would buffer the write and send it after reconnecting, maybe
        // long after this edge stepped down: wait instead (the lease decides whether we still may write).
        if (!this.#connected()) throw new Error('NATS is not connected');
        if (!this.#leaseHeld()) return;
        const writing = this.#write(data);
        this.#writing = writing;
        return await writing;
      } catch (err) {
        if (this.#revoked) return;
        if (isWrongRevision(err) && this.#uncertain && (await this.#adoptOwnWrite())) continue;
        // Written by an owner that should have stopped (its late write landed after we loaded): we hold
        // the lease, so our state is the room's: take the key over (once per save).
        if (isWrongRevision(err) && !tookOver && this.#leaseHeld() && (await this.#adoptForeignWrite())) {
          tookOver = true;
          continue;
        }
        if (isWrongRevision(err) || performance.now() > deadline) throw err;
        this.#uncertain = true;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async #write(data: Uint8Array | null): Promise<void> {
    this.#lastTried = data;
    if (data === null) {
      if (this.#exists) await this.#kv.delete(this.#room, { previousSeq: this.#revision });
      this.#exists = false;
    } else {
      this.#revision = this.#exists
        ? await this.#kv.update(this.#room, data, this.#revision)
        : await this.#kv.create(this.#room, data);
      this.#exists = true;
    }
    this.#uncertain = false;
  }

  async #adoptForeignWrite(): Promise<boolean> {
    const e = await this.#kv.get(this.#room);
    if (!this.#leaseHeld()) return false;
    this.#revision = e?.revision ?? 0;
    this.#exists = e?.operation === 'PUT';
    this.#uncertain = false;
    return true;
  }

  /**
   * A write that timed out may have landed all the same, so the revision moved under us: if what is
   * stored is exactly what this store tried last, it is ours and its revision is adopted. Anything else
   * was written by another edge and is never overwritten.
   */
  async #adoptOwnWrite(): Promise<boolean> {
    const e = await this.#kv.get(this.#room);
    const tried = this.#lastTried;
    const ours =
      tried === null
        ? e?.operation !== 'PUT'
        : e?.operation === 'PUT' && e.value.length === tried.length && e.value.every((b, i) => b === tried[i]);
    if (!ours) return false;
    this.#revision = e?.revision ?? 0;
    this.#exists = e?.operation === 'PUT';
    this.#uncertain = false;
    return true;
  }
}
