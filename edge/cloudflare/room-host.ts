/**
 * A room as a Durable Object: one instance per room name, its sockets accepted with the hibernation API,
 * its state in SQLite-backed storage. The object can be evicted at any time between events; the Room
 * core loads its state again on the next message and finds its participants through the sockets'
 * attachments. DurableObjectRoomHost is what this runtime gives the Room (the RoomHost of
 * edge/core/room/context.ts); RoomObject is the object itself.
 */
import { DurableObject } from 'cloudflare:workers';
import type { MediaEvent } from '../../shared/control.ts';
import { logSocketLimit, socketLimitResponse } from '../core/app.ts';
import { parseEdgeConfig, type EdgeConfig } from '../core/config.ts';
import { consoleLogger } from '../core/logger.ts';
import { roomDeps, type RoomHost } from '../core/room/context.ts';
import { Room } from '../core/room/room.ts';
import type { RoomSnapshot, RoomStore } from '../core/room/store.ts';
import { createEdgeServices, type EdgeServices } from '../core/services.ts';
import { settings, type Env } from './env.ts';
import { DurableObjectNodeRegistry } from './registry.ts';
import { acceptRoomSocket, socketConnection, socketsFrom } from './websocket.ts';

/**
 * The Worker tells the object which room it is. Only a fallback: the object reads its name from
 * `ctx.id.name` (ids made with idFromName carry it; checked in this workerd, also after an eviction and
 * in alarm()). The header stays for a runtime whose ids do not carry the name.
 */
export const ROOM_NAME_HEADER = 'x-treffpunkt-room';
/** The Worker tells the object the client's address key (set by the Worker only, never by clients). */
export const ADDRESS_KEY_HEADER = 'x-treffpunkt-address';

class DurableObjectRoomStore implements RoomStore {
  readonly #storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }
  load(): Promise<RoomSnapshot | undefined> {
    return this.#storage.get<RoomSnapshot>('snapshot');
  }
  async save(snapshot: RoomSnapshot | undefined): Promise<void> {
    if (snapshot) await this.#storage.put('snapshot', snapshot);
    else await this.#storage.delete('snapshot');
  }
}

/** One room's host in a Durable Object: its sockets from the runtime, its sweep as the object's alarm. */
export class DurableObjectRoomHost implements RoomHost {
  readonly store: DurableObjectRoomStore;
  readonly #ctx: DurableObjectState;
  readonly #newBudget: EdgeServices['messageBudget'];

  constructor(ctx: DurableObjectState, newBudget: EdgeServices['messageBudget']) {
    this.#ctx = ctx;
    this.#newBudget = newBudget;
    this.store = new DurableObjectRoomStore(ctx.storage);
  }

  connections() {
    return this.#ctx.getWebSockets().map((ws) => this.connection(ws));
  }

  /** The Connection of one of this object's sockets. */
  connection(ws: WebSocket) {
    return socketConnection(ws, this.#newBudget);
  }

  /** One alarm per object; an earlier sweep replaces a later one (the sweep reschedules what is left). */
  scheduleSweep(at: number): void {
    void this.#ctx.storage.getAlarm().then((current) => {
      if (current === null || at < current) return this.#ctx.storage.setAlarm(at);
    });
  }
}

export class RoomObject extends DurableObject<Env> {
  #room: Room | undefined;
  #wired: { config: EdgeConfig; services: EdgeServices; host: DurableObjectRoomHost } | undefined;

  /** Built on first use, once per object lifetime (a wake-up after eviction builds it again). */
  get #wiring() {
    if (!this.#wired) {
      const config = parseEdgeConfig(settings(this.env));
      const services = createEdgeServices(
        config,
        new DurableObjectNodeRegistry(this.env.REGISTRY, config.nodeHeartbeatTimeoutMs),
        consoleLogger,
      );
      this.#wired = { config, services, host: new DurableObjectRoomHost(this.ctx, services.messageBudget) };
    }
    return this.#wired;
  }

  get #settings(): EdgeConfig {
    return this.#wiring.config;
  }

  get #roomHost(): DurableObjectRoomHost {
    return this.#wiring.host;
  }

  /** This object's room: named by its id, else by what the caller knows (header, attachment, storage). */
  #roomFor(fallbackName: string): Room {
    this.#room ??= new Room(this.ctx.id.name ?? fallbackName, roomDeps(this.#wiring.services.room, this.#roomHost));
    return this.#room;
  }

  override async fetch(request: Request): Promise<Response> {
    const name = this.ctx.id.name ?? request.headers.get(ROOM_NAME_HEADER);
    if (!name || request.headers.get('upgrade')?.toLowerCase() !== 'websocket')
      return new Response('expected a WebSocket upgrade', { status: 426 });
    // Each room object counts its own sockets (no socket close reaches the Worker): per address and room.
    const addressKey = request.headers.get(ADDRESS_KEY_HEADER) ?? undefined;
    if (addressKey !== undefined && socketsFrom(this.ctx, addressKey) >= this.#settings.socketsPerAddress) {
      await logSocketLimit(consoleLogger, addressKey, name);
      return socketLimitResponse(this.#settings.socketsPerAddress);
    }
    // An alarm carries no request: remember the name for it, in case the runtime's alarm() has no
    // ctx.id.name (this workerd has it there; the write stays so that a runtime without it still sweeps).
    await this.ctx.storage.put('name', name);
    const { response, server } = acceptRoomSocket(this.ctx, name, addressKey);
    this.#roomFor(name).onOpen(this.#roomHost.connection(server));
    return response;
  }

  override async alarm(): Promise<void> {
    const name = this.ctx.id.name ?? (await this.ctx.storage.get<string>('name'));
    if (name) await this.#roomFor(name).sweep();
  }

  /** RPC from the Worker: a media node's event about this room. */
  async nodeEvent(room: string, nodeId: string, event: MediaEvent): Promise<void> {
    await this.#roomFor(room).onNodeEvent(nodeId, event);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#roomHost.connection(ws);
    await this.#roomFor(conn.room).onMessage(conn, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    const conn = this.#roomHost.connection(ws);
    await this.#roomFor(conn.room).onClose(conn);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const conn = this.#roomHost.connection(ws);
    await this.#roomFor(conn.room).onClose(conn);
  }
}
