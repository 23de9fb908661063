/**
 * What an edge of a cluster knows about one room (cluster-rooms.ts): whether it runs it (`owner`), relays
 * its sockets to the edge that does (`remote`), or is looking for the owner (`finding`), and the
 * participants' sockets on this edge. Shared by the coordinator (cluster-rooms.ts), the owner's side
 * (owner-side.ts) and the relaying edge's side (relay-side.ts).
 */
import type { Subscription } from '@nats-io/transport-node';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { CloseCode } from '../../shared/signaling.ts';
import type { Connection } from '../core/connection.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { ClientSocket } from './client-socket.ts';
import type { NatsRoomStore } from './nats-room-store.ts';
import type { RelayOutbox } from './relay-outbox.ts';
import type { ToRelay } from './relay-messages.ts';
import type { Lease } from './room-lease.ts';
import type { SaveGate } from './save-gate.ts';

/** A socket of another edge in a room this edge runs. */
export interface RelayedSocket {
  edge: string;
  conn: Connection;
  /** What the room sends for it, numbered and kept until acked; undefined for an edge that does not ack. */
  out: RelayOutbox<OwnerFrameOut> | undefined;
  /** The room closed it: its close is on the way (frames from it are ignored until the close is acked). */
  closing: boolean;
}

/** A frame or close for a relayed socket as the owner's outbox keeps it (ToRelay without its number). */
export type OwnerFrameOut = { fields: Exclude<ToRelay, { kind: 'moved' }>; body?: string };

export interface Owned {
  kind: 'owner';
  lease: Lease;
  store: NatsRoomStore;
  /** What the room sends waits for the save of the change under way (save-gate.ts). */
  gate: SaveGate;
  sub: Subscription | undefined;
  /** The snapshot could be read and the room's subject is listened on (ClusterRooms.#openOwned). */
  serving: boolean;
  /**
   * Being handed over (shutdown): no new frames are taken, but the lease is still ours until the room is
   * dropped, so what the room sends for the requests it finishes meanwhile still goes out (speaksFor).
   */
  handingOver: boolean;
  /** Sockets of other edges in this room, by `${edge}/${conn}`. */
  relayed: Map<string, RelayedSocket>;
  /** When each relaying edge was last heard from (its probes): a silent one's sockets are closed. */
  edgesSeen: Map<string, number>;
}

export type RouteState = Owned | { kind: 'remote'; owner: string } | { kind: 'finding' } | { kind: 'leaving' };

export interface Route {
  name: string;
  state: RouteState;
  /** This edge's sockets in the room, by ClientSocket.id. */
  sockets: Map<string, ClientSocket>;
  /** ClusterRooms.#find runs for the room. */
  finding: boolean;
}

/** Whether what the room sends still reaches its sockets: it runs here, or finishes its requests before a handover. */
export function speaksFor(route: Route, owned: Owned): boolean {
  return route.state === owned || owned.handingOver;
}

/**
 * Makes `conn` the participant it had joined as, after the room moved to this edge (Room.reattach). A
 * participant the room's snapshot does not know (it joined after the last save) is told to join again.
 */
export async function reattach(
  log: Logger,
  name: string,
  room: { reattach(c: Connection, p: string): Promise<boolean> },
  conn: Connection,
  participantId: string,
): Promise<void> {
  const ok = await room.reattach(conn, participantId).catch((err: unknown) => {
    // The room moved on before the re-attach started: the next owner re-attaches the socket.
    if (err instanceof TreffpunktError && err.code === ErrorCode.RoomMoved) return true;
    log.error({ room: name, ...errorFields(err) }, 're-attach failed');
    return false;
  });
  if (!ok) conn.close(CloseCode.ServiceRestart, 'the room moved; join again');
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
