/**
 * In-process room actors for the Node edge. InProcessRoomHost is the RoomHost of one room (its sockets in
 * a Set, its sweep on a timer, its state in the store it is given: a row of the edge's state file, so a
 * room outlives a restart of the process, or memory with `TREFFPUNKT_STATE_FILE=:memory:`); InProcessRooms
 * keeps one Room per room name, created on first use and dropped when its last socket is gone. Node runs
 * JavaScript on one thread and each Room serialises its own requests, so "get or create" here cannot race.
 */
import type { MediaEvent } from '../../shared/control.ts';
import type { Connection } from '../core/connection.ts';
import { roomDeps, type RoomHost } from '../core/room/context.ts';
import { Room } from '../core/room/room.ts';
import { CloseCode } from '../../shared/signaling.ts';
import { MemoryRoomStore, type RoomStore } from '../core/room/store.ts';
import { errorFields } from '../core/logger.ts';
import type { EdgeServices } from '../core/services.ts';

/** One room's host in this process: what a Durable Object's runtime gives it on Cloudflare. */
export class InProcessRoomHost implements RoomHost {
  readonly store: RoomStore;
  readonly #connections = new Set<Connection>();
  readonly #sweep: () => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #stopped = false;

  /** `sweep`: what the timer runs when the sweep is due. */
  constructor(sweep: () => void, store: RoomStore = new MemoryRoomStore()) {
    this.#sweep = sweep;
    this.store = store;
  }

  /** No more sweeps: the room was dropped from this process (an edge cluster moved it elsewhere). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  connections(): Set<Connection> {
    return this.#connections;
  }

  /** One timer per room; an earlier sweep replaces a later one (the sweep reschedules what is left). */
  scheduleSweep(at: number): void {
    if (at >= this.#timerAt || this.#stopped) return;
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

/** Where each room keeps its snapshot, and which rooms have one (to wake them after a restart). */
export interface RoomStores {
  store(room: string): RoomStore;
  rooms(): string[];
}

/** Rooms in memory only: gone with the process (`TREFFPUNKT_STATE_FILE=:memory:`). */
const memoryStores: RoomStores = { store: () => new MemoryRoomStore(), rooms: () => [] };

/** The Node edge's rooms, by name. */
export class InProcessRooms {
  readonly #rooms = new Map<string, HostedRoom>();
  readonly #services: EdgeServices;
  /** Open sockets per address key, across all rooms of this process (TREFFPUNKT_SOCKETS_PER_ADDRESS). */
  readonly #perAddress = new Map<string, number>();

  readonly #stores: RoomStores;
  /** Set by shutdown(): no new sockets, and the sockets still open are being closed. */
  #shuttingDown = false;
  /** While shutting down: called when the last socket of this process has closed. */
  #allClosed: (() => void) | undefined;

  /**
   * `stores`: where each room keeps its snapshot — in memory (the default), in the edge's state file
   * (a lone edge), or in NATS (an edge cluster, whose rooms another edge may load).
   */
  constructor(services: EdgeServices, stores: RoomStores = memoryStores) {
    this.#services = services;
    this.#stores = stores;
  }

  #hosted(name: string): HostedRoom {
    let hosted = this.#rooms.get(name);
    if (!hosted) {
      const host = new InProcessRoomHost(
        // A sweep that fails (its snapshot could not be saved) is logged; unhandled it would end the process.
        () =>
          void room.sweep().then(
            () => this.#forgetIfEmpty(name),
            (err) => this.#services.room.log.error({ room: name, ...errorFields(err) }, 'room sweep failed'),
          ),
        this.#stores.store(name),
      );
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

  /**
   * A socket opened for `name`: the room sees it, as a whole Connection, from now on. `socketId`: its id
   * across an edge cluster (Connection.socketId).
   */
  open(name: string, socket: SocketEnds, addressKey?: string, socketId?: string): { room: Room; conn: Connection } {
    const hosted = this.#hosted(name);
    const conn: Connection = {
      send: socket.send,
      close: socket.close,
      participantId: undefined,
      openedAt: Date.now(),
      addressKey,
      socketId,
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
    this.#checkAllClosed();
  }

  #forgetIfEmpty(name: string): void {
    const hosted = this.#rooms.get(name);
    // A room with removal bars running is kept (its sweep forgets it when they run out).
    if (hosted && hosted.host.connections().size === 0 && hosted.room.idle) this.#rooms.delete(name);
  }

  /**
   * After a restart: wakes every room saved in the state file. Loading a room gives its participants
   * the resume grace (they had sockets to the edge that died) and starts its sweep, which removes those
   * who never come back — without this, a room nobody returns to would stay in the file for ever.
   * Not awaited: a sweep may call media nodes (removing someone whose grace ran out long ago), and the
   * edge must not wait for them to listen; a socket that opens meanwhile queues behind the load in its
   * room. A room that fails to load is logged and left to its next request. Returns how many rooms.
   */
  restoreSaved(): number {
    const names = this.#stores.rooms();
    for (const name of names)
      this.#hosted(name)
        .room.sweep()
        .then(() => this.#forgetIfEmpty(name))
        .catch((err) => this.#services.room.log.error({ room: name, ...errorFields(err) }, 'restoring a room failed'));
    return names.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The edge is going down (SIGTERM): closes every room socket with 1012 (Service Restart), which the
   * clients read as "resume in a moment", and resolves once every room has seen its sockets close and
   * saved (or when `boundMs` has passed: a client that never answers the close must not hold the exit).
   * Every room saves after each change anyway (Room.#mutate), so what remains is the disconnects.
   */
  async shutdown(boundMs: number): Promise<void> {
    this.#shuttingDown = true;
    for (const { host } of this.#rooms.values())
      for (const conn of host.connections()) conn.close(CloseCode.ServiceRestart, 'server restarting, resume');
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      this.#checkAllClosed();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allClosed.then(() => Promise.all([...this.#rooms.values()].map(({ room }) => room.settled()))),
      new Promise((r) => (timer = setTimeout(r, boundMs))),
    ]);
    clearTimeout(timer);
  }

  #checkAllClosed(): void {
    if (this.#allClosed && [...this.#rooms.values()].every(({ host }) => host.connections().size === 0))
      this.#allClosed();
  }

  /** The room `name` if it is open in this process. */
  room(name: string): Room | undefined {
    return this.#rooms.get(name)?.room;
  }

  /**
   * Forgets the room without closing anything: its state lives on in its store and another edge of the
   * cluster runs it now (the caller stops feeding its sockets to it). What it still has queued is not
   * started (Room.retire).
   */
  drop(name: string): void {
    this.#rooms.get(name)?.room.retire();
    this.#rooms.get(name)?.host.stop();
    this.#rooms.delete(name);
  }

  /**
   * A media node was found lost (the node link, node-links.ts): every room here checks its nodes now
   * instead of at its next sweep (up to a third of the heartbeat timeout away), and moves its participants.
   */
  checkNodesNow(): void {
    const now = Date.now();
    for (const { host } of this.#rooms.values()) host.scheduleSweep(now);
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

  /** The rooms open in this process, by name (admin API, metrics); none is created. */
  *rooms(): IterableIterator<[string, Room]> {
    for (const [name, hosted] of this.#rooms) yield [name, hosted.room];
  }

  /** The room if it is open in this process. */
  find(name: string): Room | undefined {
    return this.#rooms.get(name)?.room;
  }
}
