/**
 * In-process room actors for the Node edge. InProcessRoomHost is the RoomHost of one room (its sockets in
 * a Set, its sweep on a timer, its state in memory: MemoryRoomStore, so a Node edge's rooms last as long
 * as its process); InProcessRooms keeps one Room per room name, created on first use and dropped when its
 * last socket is gone. Node runs JavaScript on one thread and each Room serialises its own requests, so
 * "get or create" here cannot race.
 */
import type { MediaEvent } from '../../shared/control.ts';
import type { Connection } from '../core/connection.ts';
import { roomDeps, type RoomHost } from '../core/room/context.ts';
import { Room } from '../core/room/room.ts';
import { MemoryRoomStore } from '../core/room/store.ts';
import type { EdgeServices } from '../core/services.ts';

/** One room's host in this process: what a Durable Object's runtime gives it on Cloudflare. */
export class InProcessRoomHost implements RoomHost {
  readonly store = new MemoryRoomStore();
  readonly #connections = new Set<Connection>();
  readonly #sweep: () => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  /** `sweep`: what the timer runs when the sweep is due. */
  constructor(sweep: () => void) {
    this.#sweep = sweep;
  }

  connections(): Set<Connection> {
    return this.#connections;
  }

  /** One timer per room; an earlier sweep replaces a later one (the sweep reschedules what is left). */
  scheduleSweep(at: number): void {
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Infinity;
        this.#sweep();
      },
      Math.max(0, at - Date.now()),
    );
    this.#timer.unref();
  }
}

interface HostedRoom {
  room: Room;
  host: InProcessRoomHost;
}

/** A socket as the Node adapter hands it over: how to send on it and close it. */
export type SocketEnds = Pick<Connection, 'send' | 'close'>;

/** The Node edge's rooms, by name. */
export class InProcessRooms {
  readonly #rooms = new Map<string, HostedRoom>();
  readonly #services: EdgeServices;
  /** Open sockets per address key, across all rooms of this process (TREFFPUNKT_SOCKETS_PER_ADDRESS). */
  readonly #perAddress = new Map<string, number>();

  constructor(services: EdgeServices) {
    this.#services = services;
  }

  #hosted(name: string): HostedRoom {
    let hosted = this.#rooms.get(name);
    if (!hosted) {
      const host = new InProcessRoomHost(() => void room.sweep().then(() => this.#forgetIfEmpty(name)));
      const room: Room = new Room(name, roomDeps(this.#services.room, host));
      hosted = { room, host };
      this.#rooms.set(name, hosted);
    }
    return hosted;
  }

  /** Open sockets from this address key, in every room of this process. */
  socketsFrom(addressKey: string): number {
    return this.#perAddress.get(addressKey) ?? 0;
  }

  /** A socket opened for `name`: the room sees it, as a whole Connection, from now on. */
  open(name: string, socket: SocketEnds, addressKey?: string): { room: Room; conn: Connection } {
    const hosted = this.#hosted(name);
    const conn: Connection = {
      send: socket.send,
      close: socket.close,
      participantId: undefined,
      openedAt: Date.now(),
      addressKey,
      messages: this.#services.messageBudget(),
    };
    hosted.host.connections().add(conn);
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
    hosted.host.connections().delete(conn);
    this.#forgetIfEmpty(name);
  }

  #forgetIfEmpty(name: string): void {
    const hosted = this.#rooms.get(name);
    // A room with removal bars running is kept (its sweep forgets it when they run out).
    if (hosted && hosted.host.connections().size === 0 && hosted.room.idle) this.#rooms.delete(name);
  }

  /** A media node's event for `name`; rooms that are not open here have nobody to tell. */
  async event(name: string, nodeId: string, event: MediaEvent): Promise<void> {
    await this.#rooms.get(name)?.room.onNodeEvent(nodeId, event);
  }

  /**
   * Which of `names` this process hosts. The in-memory host is the whole truth about its rooms: one it
   * does not hold (e.g. after a restart) is gone, and the node may close it.
   */
  roomsInUse(names: readonly string[]): string[] {
    return names.filter((n) => this.#rooms.has(n));
  }

  get size(): number {
    return this.#rooms.size;
  }
}
