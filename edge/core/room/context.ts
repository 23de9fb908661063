/**
 * What a room is given (RoomDeps: the deployment's RoomServices and its runtime's RoomHost), and what
 * each of its parts (admission, media, failover, …) works with: a narrow context, built once by the
 * Room, instead of the Room itself.
 */
import { ErrorCode, TreffpunktError } from '../../../shared/errors.ts';
import type { Method, Params, Result } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import type { JoinTokenVerifier, VerifiedJoin } from '../join-tokens.ts';
import type { Logger } from '../logger.ts';
import { intersectConstraints, type MediaConstraint } from '../media-constraint.ts';
import type { MediaNodes } from '../media-nodes.ts';
import type { EdgeMetrics } from '../metrics.ts';
import type { WebhookSink } from '../webhooks/queue.ts';
import type { Participant } from './participant.ts';
import type { RoomState } from './state.ts';
import type { RoomStore } from './store.ts';

/** Who may join without a token when the deployment trusts token issuers. */
export type GuestPolicy = 'allow' | 'lobby' | 'deny';

export interface RoomAccess {
  verifier: JoinTokenVerifier;
  guestPolicy: GuestPolicy;
  /** How long a removed participant's token identity may not join again (0: not barred). */
  removalBarMs: number;
}

/**
 * What the deployment gives every room, the same on every runtime: the media nodes, who may join, the
 * logger and the limits. Built from the config in one place (createEdgeServices in ../services.ts).
 */
export interface RoomServices {
  nodes: MediaNodes;
  access: RoomAccess;
  log: Logger;
  maxMessageBytes: number;
  capacity: number;
  maxProducers: number;
  /** Transports one participant may hold on its media node (a move to another node starts afresh). */
  maxTransports: number;
  /** Consumers one participant may hold; one per producer, those of closed producers do not count. */
  maxConsumers: number;
  /** How many may wait in the lobby at once; a newcomer beyond that gets LOBBY_FULL. */
  lobbyCapacity: number;
  /** A socket that has neither joined nor resumed (nor waits in the lobby) this long is closed (4009). */
  joinTimeoutMs: number;
  /** How long a participant whose socket dropped stays in the room, waiting to `resume`. */
  resumeGraceMs: number;
  /** Where this room's media may go (operators, jurisdictions). */
  mediaConstraint: MediaConstraint;
  /** How often a room with participants checks that its media nodes are alive (and not draining). */
  nodeCheckIntervalMs: number;
  /**
   * A move off a draining node keeps the old media this long at most for participants that do not say
   * mediaMoveDone (TREFFPUNKT_HANDOVER_DEADLINE_MS; default HANDOVER_DEADLINE_MS in failover.ts).
   */
  handoverDeadlineMs?: number;
  /** Moderators get at most one lobbyChanged per this interval (default 500 ms; see presence.ts). */
  lobbyNotifyMs?: number;
  /** Request latencies and failovers (edge/core/metrics.ts); none where the runtime has no metrics. */
  metrics?: EdgeMetrics;
  /** Room and participant events for the operator's receivers (edge/core/webhooks/queue.ts). */
  webhooks?: WebhookSink;
}

/**
 * What a runtime must provide to one Room: its sockets, a way to be woken for the sweep, and storage.
 * Each runtime implements it once, the way partykit names its in-memory and hibernating connection
 * managers: InProcessRoomHost (edge/node: a Set, a timer, memory) and DurableObjectRoomHost
 * (edge/cloudflare: ctx.getWebSockets(), the alarm, Durable Object storage).
 */
export interface RoomHost {
  /** The room's open sockets, joined or not (a Durable Object asks its runtime: ctx.getWebSockets()). */
  connections(): Iterable<Connection>;
  /** Asks the host to call `sweep()` at (or soon after) `at` (ms since the epoch): a timer or an alarm. */
  scheduleSweep(at: number): void;
  readonly store: RoomStore;
  /** Called when the last participant has left, so the host can forget the room. */
  onEmpty?(): void;
}

/** Everything a Room is given: the deployment's services and its host's part. */
export interface RoomDeps extends RoomServices, RoomHost {}

/** A Room's deps from the services and a host (its methods bound: a host may be a class instance). */
export function roomDeps(services: RoomServices, host: RoomHost): RoomDeps {
  return {
    ...services,
    store: host.store,
    connections: () => host.connections(),
    scheduleSweep: (at) => host.scheduleSweep(at),
    ...(host.onEmpty ? { onEmpty: () => host.onEmpty?.() } : {}),
  };
}

/**
 * What every part of a room works with. The state object lives as long as the Room (a cold start
 * restores into it), so a part may keep it.
 */
export interface RoomContext {
  readonly name: string;
  readonly deps: RoomDeps;
  readonly state: RoomState;
}

/** `verified`: for a `join` with a token, the token as checked before the request entered the queue. */
export type Handler<M extends Method> = (
  conn: Connection,
  params: Params<M>,
  verified?: VerifiedJoin,
) => Promise<Result<M>>;

/** The handlers of some methods: each part of the room brings its own, room.ts puts them together. */
export type Handlers<M extends Method> = { [K in M]: Handler<K> };

/** The participant this socket joined as; NOT_JOINED otherwise. */
export function joined(state: RoomState, conn: Connection): Participant {
  const id = conn.participantId;
  if (!id) throw new TreffpunktError(ErrorCode.NotJoined, 'join the room first');
  return state.participant(id);
}

/** The moderator this socket joined as; FORBIDDEN for anyone else. */
export function moderator(state: RoomState, conn: Connection): Participant {
  const p = joined(state, conn);
  if (p.role !== 'moderator') throw new TreffpunktError(ErrorCode.Forbidden, 'only moderators may do that');
  return p;
}

/** Where this room's media may go: the deployment's constraint, narrowed by the room's own. */
export function roomConstraint({ deps, state }: RoomContext): MediaConstraint {
  return intersectConstraints(deps.mediaConstraint, state.constraint ?? {});
}
