/**
 * The edge ↔ media node protocol: the control API that only the edge may call, and the registration and
 * heartbeats a media node sends to the edge (routes in shared/node-api.ts). One schema source for both
 * sides; each side parses what it receives. Requests are signed with the node's own secret
 * (HMAC headers, shared/request-signing.ts, sent by shared/signed-fetch.ts).
 */
import { z } from 'zod';
import { Id, Jurisdiction, NodeId, RoomName } from './ids.ts';
import {
  DtlsParameters,
  IceParameters,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  RtpParameters,
  TransportOptions,
} from './media-types.ts';
import { ErrorCode } from './errors.ts';
import { isBareOrigin } from './transport-security.ts';
import { buildPath, type RouteParams } from './routes.ts';

export { Jurisdiction, NodeId };

/**
 * A node's self-reported load. The edge cannot check it, only bound it: absurd figures (a node claiming
 * 10^9 workers to look idle, or negative counts) are refused, so one node's word cannot skew selection
 * arithmetic. A node can still under-report within these bounds to attract participants; that is its
 * operator's word, like its region (docs/security.md).
 */
const count = (max: number) => z.number().int().min(0).max(max);
export const MAX_NODE_WORKERS = 128;
export const NodeLoad = z.object({
  /** The media node's own limit (TREFFPUNKT_NODE_WORKERS). */
  workers: count(MAX_NODE_WORKERS),
  routers: count(1_000_000),
  transports: count(1_000_000),
  producers: count(1_000_000),
  consumers: count(10_000_000),
});
export type NodeLoad = z.infer<typeof NodeLoad>;

/** A TURN URI as RTCIceServer.urls takes it: turn(s):host[:port][?transport=udp|tcp]. */
export const TurnUrl = z
  .string()
  .max(300)
  .regex(
    /^turns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/,
    'must be a turn: or turns: URI',
  );

/**
 * The node's TURN service: where browsers reach it and the secret the edge mints TURN REST credentials
 * with (edge/core/turn-credentials.ts). The registration is authenticated with the node's own secret, so
 * the TURN secret may travel in it; each node has its own.
 */
export const NodeTurn = z
  .object({
    urls: z.array(TurnUrl).min(1).max(8),
    secret: z.string().min(16).max(256),
  })
  .strict();
export type NodeTurn = z.infer<typeof NodeTurn>;

/**
 * The legal jurisdiction a node's machine is in: an ISO 3166-1 alpha-2 country code ("DE", "FR").
 * Rooms may require jurisdictions (edge/core/media-constraint.ts, where "EU" names the member states).
 */

/** The body of nodeApi.register (shared/node-api.ts). */
export const NodeRegistration = z
  .object({
    nodeId: NodeId,
    /**
     * Base URL of the node's control API as the edge reaches it: an origin only, no path, query, fragment
     * or credentials (the edge appends its own paths; see isBareOrigin).
     */
    controlUrl: z
      .url({ protocol: /^https?$/ })
      .max(300)
      .refine(isBareOrigin, 'must be an origin only (scheme, host, port), without path, query or fragment'),
    region: z.string().min(1).max(64),
    operator: z.string().min(1).max(64),
    /** Absent: the node states no jurisdiction and never meets a room's jurisdiction constraint. */
    jurisdiction: Jurisdiction.optional(),
    load: NodeLoad,
    /** Absent when the node runs no TURN service (turn-mode off). */
    turn: NodeTurn.optional(),
    /**
     * Where browsers reach the node's media (its announced address and first WebRTC TCP port), so that
     * the edge can check that something answers there and say which node is misconfigured (issue 13).
     */
    media: z
      .object({ address: z.string().min(1).max(253), tcpPort: z.number().int().min(1).max(65535) })
      .strict()
      .optional(),
  })
  .strict();
export type NodeRegistration = z.infer<typeof NodeRegistration>;

/** The body of nodeApi.heartbeat. */
export const NodeHeartbeat = z.object({ load: NodeLoad }).strict();
export type NodeHeartbeat = z.infer<typeof NodeHeartbeat>;

/**
 * The body of nodeApi.drain — the node is going down (SIGTERM): no new participants, and
 * rooms move the ones it carries to other nodes. A later registration makes it selectable again.
 */
export const NodeDrain = z.object({}).strict();

/** One end of an SRTP-encrypted PipeTransport between two media nodes' routers for a room. */
export const PipeEnd = z
  .object({
    ip: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    srtpParameters: z
      .object({
        cryptoSuite: z.enum([
          'AEAD_AES_256_GCM',
          'AEAD_AES_128_GCM',
          'AES_CM_128_HMAC_SHA1_80',
          'AES_CM_128_HMAC_SHA1_32',
        ]),
        keyBase64: z.string().min(16).max(128),
      })
      .strict(),
  })
  .strict();
export type PipeEnd = z.infer<typeof PipeEnd>;

/**
 * Control API operations: method, route, request body and response body — the one source of the
 * control API's paths. The edge builds each URL from `route` (edge/core/media-node-client.ts) and the
 * media node registers each route from it (media-node/control-api.ts).
 */
export const control = {
  /** Get or create the room's router (idempotent). */
  ensureRouter: {
    method: 'POST',
    route: '/v1/rooms/:room/router',
    body: z.object({}).strict(),
    response: z.object({ rtpCapabilities: RtpCapabilities }),
  },
  /**
   * `clientDtlsParameters`: connect it at once with the client's DTLS parameters (a transport made with
   * the join, issue 14: one call instead of two); the response then says whether that worked
   * (`connected`). A node older than this field refuses the body (BAD_MESSAGE): the edge makes the
   * transport without it and connects it with connectTransport.
   */
  createTransport: {
    method: 'POST',
    route: '/v1/rooms/:room/transports',
    body: z
      .object({
        participantId: Id,
        direction: z.enum(['send', 'recv']),
        clientDtlsParameters: DtlsParameters.optional(),
      })
      .strict(),
    response: TransportOptions.extend({ connected: z.boolean().optional() }),
  },
  connectTransport: {
    method: 'POST',
    route: '/v1/rooms/:room/transports/:transportId/connect',
    body: z.object({ dtlsParameters: DtlsParameters }).strict(),
    response: z.object({}),
  },
  restartIce: {
    method: 'POST',
    route: '/v1/rooms/:room/transports/:transportId/restart-ice',
    body: z.object({}).strict(),
    response: z.object({ iceParameters: IceParameters }),
  },
  produce: {
    method: 'POST',
    route: '/v1/rooms/:room/transports/:transportId/produce',
    body: z.object({ kind: MediaKind, rtpParameters: RtpParameters, source: MediaSource }).strict(),
    response: z.object({ producerId: Id }),
  },
  closeProducer: {
    method: 'POST',
    route: '/v1/rooms/:room/producers/:producerId/close',
    body: z.object({}).strict(),
    response: z.object({}),
  },
  consume: {
    method: 'POST',
    route: '/v1/rooms/:room/transports/:transportId/consume',
    /** `paused: false`: an audio consumer that runs at once (shared/signaling.ts, consume); a node older than it refuses the field. */
    body: z.object({ producerId: Id, rtpCapabilities: RtpCapabilities, paused: z.boolean().optional() }).strict(),
    response: z.object({
      consumerId: Id,
      producerId: Id,
      kind: MediaKind,
      rtpParameters: RtpParameters,
      /** Whether the consumer is paused now (absent from a node older than the field: paused). */
      paused: z.boolean().optional(),
    }),
  },
  /** The edge replaced it (idempotent). */
  closeConsumer: {
    method: 'POST',
    route: '/v1/rooms/:room/consumers/:consumerId/close',
    body: z.object({}).strict(),
    response: z.object({}),
  },
  resumeConsumer: {
    method: 'POST',
    route: '/v1/rooms/:room/consumers/:consumerId/resume',
    body: z.object({}).strict(),
    response: z.object({}),
  },
  /** Idempotent. */
  setProducerPaused: {
    method: 'POST',
    route: '/v1/rooms/:room/producers/:producerId/pause',
    body: z.object({ paused: z.boolean() }).strict(),
    response: z.object({}),
  },
  setConsumerLayers: {
    method: 'POST',
    route: '/v1/rooms/:room/consumers/:consumerId/layers',
    body: z
      .object({
        spatialLayer: z.number().int().min(0).max(2),
        temporalLayer: z.number().int().min(0).max(2).optional(),
      })
      .strict(),
    response: z.object({}),
  },
  /** Closes all the participant's transports (idempotent). */
  closeParticipant: {
    method: 'POST',
    route: '/v1/rooms/:room/participants/:participantId/close',
    body: z.object({}).strict(),
    response: z.object({}),
  },
  /**
   * Get or create this room's PipeTransport towards a peer node (one per room and peer, SRTP always
   * on); answers this end's address and SRTP key.
   */
  createPipe: {
    method: 'POST',
    route: '/v1/rooms/:room/pipes/:peerNodeId',
    body: z.object({}).strict(),
    response: PipeEnd,
  },
  /** The peer's end (idempotent for the same end). */
  connectPipe: {
    method: 'POST',
    route: '/v1/rooms/:room/pipes/:peerNodeId/connect',
    body: PipeEnd,
    response: z.object({}),
  },
  /** Sends a local producer into the pipe. */
  pipeConsume: {
    method: 'POST',
    route: '/v1/rooms/:room/pipes/:peerNodeId/consume',
    body: z.object({ producerId: Id }).strict(),
    response: z.object({ kind: MediaKind, rtpParameters: RtpParameters, paused: z.boolean(), source: MediaSource }),
  },
  /** Makes the piped producer consumable here, same id. */
  pipeProduce: {
    method: 'POST',
    route: '/v1/rooms/:room/pipes/:peerNodeId/produce',
    body: z
      .object({
        producerId: Id,
        kind: MediaKind,
        rtpParameters: RtpParameters,
        paused: z.boolean(),
        source: MediaSource,
      })
      .strict(),
    response: z.object({}),
  },
  /** Closes the pipe and everything piped through it (idempotent). */
  closePipe: {
    method: 'POST',
    route: '/v1/rooms/:room/pipes/:peerNodeId/close',
    body: z.object({}).strict(),
    response: z.object({}),
  },
  /** Closes the router (idempotent). */
  closeRoom: { method: 'POST', route: '/v1/rooms/:room/close', body: z.object({}).strict(), response: z.object({}) },
} as const satisfies Record<
  string,
  { method: 'POST'; route: `/v1/rooms/:room${string}`; body: z.ZodType; response: z.ZodType }
>;

export type ControlOp = keyof typeof control;
export type ControlBody<O extends ControlOp> = z.infer<(typeof control)[O]['body']>;
export type ControlResponse<O extends ControlOp> = z.infer<(typeof control)[O]['response']>;
/** The path parameters of an operation's route, e.g. { room, transportId } for connectTransport. */
export type ControlIds<O extends ControlOp> = RouteParams<(typeof control)[O]['route']>;

/** The path of a control operation, from its route in the table (each parameter URL-encoded). */
export function controlPath<O extends ControlOp>(op: O, ids: ControlIds<O>): string {
  return buildPath(control[op].route, ids);
}

/**
 * What the SFU observed, pushed by the media node to the edge (nodeApi.events).
 * The room only accepts events about producers of its participants on that node.
 */
export const MediaEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('activeSpeaker'), producerId: Id.nullable() }).strict(),
  z.object({ type: z.literal('producerScore'), producerId: Id, score: z.number().int().min(0).max(10) }).strict(),
]);
export type MediaEvent = z.infer<typeof MediaEvent>;
export const NodeEventBody = z.object({ room: RoomName, event: MediaEvent }).strict();
export type NodeEventBody = z.infer<typeof NodeEventBody>;

/** Error body of any control API or registry failure. */
export const ControlError = z.object({
  error: z.object({ code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]), message: z.string() }),
});

export { RoomName };
