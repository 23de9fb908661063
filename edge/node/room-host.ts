/**
 * In-process room actors for the Node edge: one Room per room name, created on first use and dropped
 * when its last socket is gone. Node runs JavaScript on one thread and each Room serialises its own
 * requests, so "get or create" here cannot race. Room state lives in memory (MemoryRoomStore): a Node
 * edge's rooms last as long as its process.
 */
import type { MediaEvent } from '../../shared/control.ts';
import type { Connection } from '../core/connection.ts';
import { Room, type RoomDeps } from '../core/room/room.ts';
import { MemoryRoomStore } from '../core/room/store.ts';
import { TokenBucket } from '../core/rate-limit.ts';

interface HostedRoom {
  room: Room;
  connections: Set<Connection>;
}

export class InProcessRoomHost {
  readonly #rooms = new Map<string, HostedRoom>();
  readonly #deps: Omit<RoomDeps, 'onEmpty' | 'store' | 'connections' | 'scheduleSweep'>;
  readonly #messagesPerSecond: number;
  /** Open sockets per address key, across all rooms of this process (TREFFPUNKT_SOCKETS_PER_ADDRESS). */
  readonly #perAddress = new Map<string, number>();

  constructor(deps: Omit<RoomDeps, 'onEmpty' | 'store' | 'connections' | 'scheduleSweep'>, messagesPerSecond: number) {
    this.#deps = deps;
    this.#messagesPerSecond = messagesPerSecond;
  }

  #hosted(name: string): HostedRoom {
    let hosted = this.#rooms.get(name);
    if (!hosted) {
      const connections = new Set<Connection>();
      let timer: NodeJS.Timeout | undefined;
      let timerAt = Infinity;
      const room: Room = new Room(name, {
        ...this.#deps,
        store: new MemoryRoomStore(),
        connections: () => connections,
        scheduleSweep: (at) => {
          if (at >= timerAt) return;
          clearTimeout(timer);
          timerAt = at;
          timer = setTimeout(() => {
            timerAt = Infinity;
            void room.sweep().then(() => this.#forgetIfEmpty(name));
          }, Math.max(0, at - Date.now()));
          timer.unref();
        },
      });
      hosted = { room, connections };
      this.#rooms.set(name, hosted);
    }
    return hosted;
  }

  /** Open sockets from this address key, in every room of this process. */
  socketsFrom(addressKey: string): number {
    return this.#perAddress.get(addressKey) ?? 0;
  }

  /** A socket opened for `name`: the room sees it from now on. */
  open(name: string, addressKey?: string): { room: Room; conn: Connection } {
    const hosted = this.#hosted(name);
    const conn: Connection = { send: () => {}, close: () => {}, participantId: undefined, openedAt: Date.now(), addressKey, messages: new TokenBucket(this.#messagesPerSecond, 2 * this.#messagesPerSecond) };
    hosted.connections.add(conn);
    if (addressKey !== undefined) this.#perAddress.set(addressKey, this.socketsFrom(addressKey) + 1);
    hosted.room.onOpen(conn);
    return { room: hosted.room, conn };
  }

  /** The socket closed: the participant leaves, and an empty room is forgotten. */
  async close(name: string, conn: Connection): Promise<void> {
    const key = conn.addressKey;
    if (key !== undefined) {
      const left = this.socketsFrom(key) - 1;
      if (left > 0) this.#perAddress.set(key, left);
      else this.#perAddress.delete(key);
    }
    const hosted = this.#rooms.get(name);
    if (!hosted) return;
    await hosted.room.onClose(conn);
    hosted.connections.delete(conn);
    this.#forgetIfEmpty(name);
  }

  #forgetIfEmpty(name: string): void {
    const hosted = this.#rooms.get(name);
    // A room with removal bars running is kept (its sweep forgets it when they run out).
    if (hosted && hosted.connections.size === 0 && hosted.room.idle) this.#rooms.delete(name);
  }

  /** A media node's event for `name`; rooms that are not open here have nobody to tell. */
  async event(name: string, nodeId: string, event: MediaEvent): Promise<void> {
    await this.#rooms.get(name)?.room.onNodeEvent(nodeId, event);
  }

  get size(): number {
    return this.#rooms.size;
  }
}
