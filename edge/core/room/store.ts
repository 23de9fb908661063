/**
 * Where a room keeps what it must not lose when its actor is evicted or restarted: the participants with
 * their media node, transports, producers and consumers, the lobby, and the room's routers per node. A
 * Durable Object writes it to its SQLite-backed storage; the Node edge keeps it in memory (its rooms live
 * as long as the process).
 */
import type { RoomState } from './state.ts';

/** What a room saves: exactly what RoomState.toSnapshot() writes, so that the two cannot drift apart. */
export type RoomSnapshot = ReturnType<RoomState['toSnapshot']>;

type ParticipantSnapshot = RoomSnapshot['participants'][number];
type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/**
 * A snapshot as it may be loaded: written by this version, or by an earlier one that lacked what was
 * added since — `links` and `abandoned` (before rooms spanned nodes), `barred` (before removal bars), `handovers` (before make-before-break drains), `applied` (before cluster sockets' requests were recorded), a
 * participant's `verified` (before names were marked), and consumers as bare ids (before they were tied
 * to producers). RoomState.restore() fills those in.
 */
export type SavedRoomSnapshot = Optional<
  Omit<RoomSnapshot, 'participants'>,
  'links' | 'abandoned' | 'barred' | 'constraint' | 'handovers' | 'applied'
> & {
  participants: (Optional<Omit<ParticipantSnapshot, 'consumers'>, 'verified'> & {
    consumers: ([string, string] | string)[];
  })[];
};

export interface RoomStore {
  load(): Promise<SavedRoomSnapshot | undefined>;
  /** Saves the snapshot; `undefined` deletes it (the room is empty). */
  save(snapshot: RoomSnapshot | undefined): Promise<void>;
  /**
   * A change begins; `changed()` ends it, after the save that covers it (or after none, when the change
   * left the snapshot as it was). Changes of different participants' lanes overlap (edge/core/room-queue.ts).
   * An edge cluster holds back what the room sends meanwhile until a save that covers it has landed
   * (edge/cluster/save-gate.ts). Optional: other stores do not care.
   */
  changing?(): void;
  changed?(): void;
}

export class MemoryRoomStore implements RoomStore {
  #snapshot: RoomSnapshot | undefined;

  async load(): Promise<RoomSnapshot | undefined> {
    return this.#snapshot;
  }

  async save(snapshot: RoomSnapshot | undefined): Promise<void> {
    this.#snapshot = snapshot;
  }
}
