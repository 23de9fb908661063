/**
 * The edge's API for media nodes: method, route, request body, response body and the statuses with a
 * meaning of their own — the one source of these paths and rules. The media node builds each URL from
 * `route` (media-node/registration.ts); the edge registers each route from it (edge/core/node-routes.ts).
 * Every request is signed with the node's own secret (shared/signed-fetch.ts).
 */
import { z } from 'zod';
import { NodeDrain, NodeEventBody, NodeHeartbeat, NodeRegistration, RoomName } from './control.ts';
import { buildPath, type RouteParams } from './routes.ts';

/**
 * The status of a heartbeat or drain from a node the edge does not know (it restarted, or forgot the
 * node): the node registers again, then goes on.
 */
export const REGISTER_AGAIN_STATUS = 409;

/** The shortest heartbeat interval a node takes from the edge's register reply (below it, its own default). */
export const MIN_HEARTBEAT_INTERVAL_MS = 500;

const Ok = z.object({ ok: z.literal(true) });

/** The most room names one reconcile request carries; a node with more sends several. */
export const MAX_RECONCILE_ROOMS = 200;
const RoomNames = z.array(RoomName).max(MAX_RECONCILE_ROOMS);

export const nodeApi = {
  /** A node announces itself (again after REGISTER_AGAIN_STATUS); the edge says how often to heartbeat. */
  register: {
    method: 'POST',
    route: '/api/nodes/register',
    body: NodeRegistration,
    response: Ok.extend({ heartbeatIntervalMs: z.number().int().positive() }),
    registerAgainStatus: undefined,
  },
  /** The node is alive, with its load. REGISTER_AGAIN_STATUS: the edge does not know the node. */
  heartbeat: {
    method: 'POST',
    route: '/api/nodes/:nodeId/heartbeat',
    body: NodeHeartbeat,
    response: Ok,
    registerAgainStatus: REGISTER_AGAIN_STATUS,
  },
  /**
   * The node goes down: no new participants, its rooms move away. REGISTER_AGAIN_STATUS: the edge does
   * not know the node, so there is nothing to drain there (registering would make it selectable again).
   */
  drain: {
    method: 'POST',
    route: '/api/nodes/:nodeId/drain',
    body: NodeDrain,
    response: Ok,
    registerAgainStatus: REGISTER_AGAIN_STATUS,
  },
  /**
   * After every (re)registration the node names the rooms it holds routers for; the edge answers with
   * those that still exist (issue 13, "The media node never forgets"), and the node closes the rest.
   * An edge that cannot tell keeps them all: the node's reaper (media-node/reaper.ts) is the backstop.
   */
  rooms: {
    method: 'POST',
    route: '/api/nodes/:nodeId/rooms',
    body: z.object({ rooms: RoomNames }).strict(),
    response: Ok.extend({ keep: RoomNames }),
    registerAgainStatus: REGISTER_AGAIN_STATUS,
  },
  /** What the SFU observed in a room (best effort). */
  events: {
    method: 'POST',
    route: '/api/nodes/:nodeId/events',
    body: NodeEventBody,
    response: Ok,
    registerAgainStatus: undefined,
  },
} as const satisfies Record<
  string,
  {
    method: 'POST';
    route: `/api/nodes/${string}`;
    body: z.ZodType;
    response: z.ZodType;
    registerAgainStatus: number | undefined;
  }
>;

export type NodeApiOp = keyof typeof nodeApi;
export type NodeApiBody<O extends NodeApiOp> = z.infer<(typeof nodeApi)[O]['body']>;
export type NodeApiResponse<O extends NodeApiOp> = z.infer<(typeof nodeApi)[O]['response']>;
export type NodeApiIds<O extends NodeApiOp> = RouteParams<(typeof nodeApi)[O]['route']>;

/** The path of a node API operation, from its route in the table (each parameter URL-encoded). */
export function nodeApiPath<O extends NodeApiOp>(op: O, ids: NodeApiIds<O>): string {
  return buildPath(nodeApi[op].route, ids);
}
