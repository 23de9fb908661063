/**
 * A room as a Durable Object: one instance per room name, its sockets accepted with the hibernation API,
 * its state in SQLite-backed storage. The object can be evicted at any time between events; the Room
 * core loads its state again on the next message and finds its participants through the sockets'
 * attachments.
 */
import { DurableObject } from 'cloudflare:workers';
import type { MediaEvent } from '../../shared/control.ts';
import { parseEdgeConfig, type EdgeConfig } from '../core/config.ts';
import { consoleLogger } from '../core/logger.ts';
import { MediaNodes } from '../core/media-nodes.ts';
import { stickyRegionLeastLoaded } from '../core/node-selection.ts';
import { Room } from '../core/room/room.ts';
import { JoinTokenVerifier } from '../core/join-tokens.ts';
import type { RoomSnapshot, RoomStore } from '../core/room/store.ts';
import { settings, type Env } from './env.ts';
import { DurableObjectNodeRegistry } from './registry.ts';
import { acceptRoomSocket, socketConnection, socketsFrom } from './websocket.ts';
import { logSocketLimit, socketLimitResponse } from '../core/app.ts';

/** The Worker tells the object which room it is (a name cannot be read back from an id). */
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

export class RoomObject extends DurableObject<Env> {
  #room: Room | undefined;
  #config: EdgeConfig | undefined;

  get #settings(): EdgeConfig {
    return (this.#config ??= parseEdgeConfig(settings(this.env)));
  }

  #conn(ws: WebSocket) {
    return socketConnection(ws, this.#settings.messagesPerSecond);
  }

  #roomFor(name: string): Room {
    if (!this.#room) {
      const config = this.#settings;
      const registry = new DurableObjectNodeRegistry(this.env.REGISTRY, config.nodeHeartbeatTimeoutMs);
      this.#room = new Room(name, {
        nodes: new MediaNodes(registry, config.nodeSecrets, stickyRegionLeastLoaded, config.turnCredentialTtlSeconds),
        access: { verifier: JoinTokenVerifier.fromConfig(config), guestPolicy: config.guestPolicy, removalBarMs: config.removalBarMs },
        log: consoleLogger,
        maxMessageBytes: config.maxMessageBytes,
        capacity: config.roomCapacity,
        maxProducers: config.maxProducers,
        maxTransports: config.maxTransports,
        maxConsumers: config.maxConsumers,
        lobbyCapacity: config.lobbyCapacity,
        joinTimeoutMs: config.joinTimeoutMs,
        resumeGraceMs: config.resumeGraceMs,
        mediaConstraint: config.mediaConstraint,
        nodeCheckIntervalMs: config.nodeCheckIntervalMs,
        // One alarm per object; an earlier sweep replaces a later one (the sweep reschedules what is left).
        scheduleSweep: (at) => {
          void this.ctx.storage.getAlarm().then((current) => {
            if (current === null || at < current) return this.ctx.storage.setAlarm(at);
          });
        },
        store: new DurableObjectRoomStore(this.ctx.storage),
        connections: () => this.ctx.getWebSockets().map((ws) => this.#conn(ws)),
      });
    }
    return this.#room;
  }

  override async fetch(request: Request): Promise<Response> {
    const name = request.headers.get(ROOM_NAME_HEADER);
    if (!name || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    // Each room object counts its own sockets (no socket close reaches the Worker): per address and room.
    const addressKey = request.headers.get(ADDRESS_KEY_HEADER) ?? undefined;
    if (addressKey !== undefined && socketsFrom(this.ctx, addressKey) >= this.#settings.socketsPerAddress) {
      await logSocketLimit(consoleLogger, addressKey, name);
      return socketLimitResponse(this.#settings.socketsPerAddress);
    }
    // An alarm carries no request: remember the name for it.
    await this.ctx.storage.put('name', name);
    const { response, server } = acceptRoomSocket(this.ctx, name, addressKey);
    this.#roomFor(name).onOpen(this.#conn(server));
    return response;
  }

  override async alarm(): Promise<void> {
    const name = await this.ctx.storage.get<string>('name');
    if (name) await this.#roomFor(name).sweep();
  }

  /** RPC from the Worker: a media node's event about this room. */
  async nodeEvent(room: string, nodeId: string, event: MediaEvent): Promise<void> {
    await this.#roomFor(room).onNodeEvent(nodeId, event);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#conn(ws);
    await this.#roomFor(conn.room).onMessage(conn, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    const conn = this.#conn(ws);
    await this.#roomFor(conn.room).onClose(conn);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const conn = this.#conn(ws);
    await this.#roomFor(conn.room).onClose(conn);
  }
}
