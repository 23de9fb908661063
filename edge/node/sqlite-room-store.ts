/**
 * Room snapshots in the Node edge's state file (state-db.ts): one row per room, written after every
 * change of the room (Room.#mutate), so that an edge killed at any moment (kill -9, a crash, SIGTERM)
 * finds its rooms again when it starts on the same file — within the resume grace, nobody's meeting
 * ends (issue 12). The same contract as a Durable Object's storage: what a room does not save is lost.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RoomSnapshot, RoomStore, SavedRoomSnapshot } from '../core/room/store.ts';

/** The `room_snapshots` table of one state file: a RoomStore per room, and the rooms that have one. */
export class SqliteRoomSnapshots {
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;
  readonly #names: StatementSync;

  constructor(db: DatabaseSync) {
    db.exec(`CREATE TABLE IF NOT EXISTS room_snapshots (
      room TEXT PRIMARY KEY,
      snapshot TEXT NOT NULL,
      saved_at INTEGER NOT NULL
    ) STRICT`);
    this.#get = db.prepare('SELECT snapshot FROM room_snapshots WHERE room = ?');
    this.#put = db.prepare(
      'INSERT INTO room_snapshots (room, snapshot, saved_at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (room) DO UPDATE SET snapshot = excluded.snapshot, saved_at = excluded.saved_at',
    );
    this.#delete = db.prepare('DELETE FROM room_snapshots WHERE room = ?');
    this.#names = db.prepare('SELECT room FROM room_snapshots ORDER BY room');
  }

  /** The store of one room. */
  store(room: string): RoomStore {
    return new SqliteRoomStore(this, room);
  }

  /** Every room with a saved snapshot: what a restarted edge wakes up (their grace timers must run). */
  rooms(): string[] {
    return this.#names.all().map((row) => String(row.room));
  }

  load(room: string): SavedRoomSnapshot | undefined {
    const row = this.#get.get(room);
    // The file is our own, written by save() below: a row that does not parse is a corrupt file, and
    // throwing (the room's first request fails, logged) is better than a meeting silently emptied.
    return row ? (JSON.parse(String(row.snapshot)) as SavedRoomSnapshot) : undefined;
  }

  save(room: string, snapshot: RoomSnapshot | undefined): void {
    if (snapshot) this.#put.run(room, JSON.stringify(snapshot), Date.now());
    else this.#delete.run(room);
  }
}

/** One room's snapshot row. node:sqlite is synchronous: when save() resolves, the row is committed. */
export class SqliteRoomStore implements RoomStore {
  readonly #table: SqliteRoomSnapshots;
  readonly #room: string;

  constructor(table: SqliteRoomSnapshots, room: string) {
    this.#table = table;
    this.#room = room;
  }

  async load(): Promise<SavedRoomSnapshot | undefined> {
    return this.#table.load(this.#room);
  }

  async save(snapshot: RoomSnapshot | undefined): Promise<void> {
    this.#table.save(this.#room, snapshot);
  }
}
