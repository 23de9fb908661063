/**
 * The participant ↔ edge protocol over the room WebSocket: the one schema source for it. Types are
 * derived from these schemas; every frame is parsed by them on receipt (edge and browser alike).
 * `docs/protocol.md` describes the same protocol for people; keep both in step.
 *
 * Shapes:
 *   request       client → edge   { id, method, params }
 *   response      edge → client   { id, ok: true, result } | { id, ok: false, error: { code, message } }
 *   notification  edge → client   { event, data }
 */
import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import {
  DtlsParameters,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  RtpParameters,
  TransportOptions,
} from './media-types.ts';

export const RoomName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'room names are 1-64 letters, digits, - or _');
export const DisplayName = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(64, 'name must be at most 64 characters')
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'name must not contain control characters');
const Id = z.string().min(1).max(64);
const RequestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ParticipantInfo = z.object({
  id: Id,
  name: z.string(),
  producers: z.array(z.object({ id: Id, kind: MediaKind, source: MediaSource })),
});
export type ParticipantInfo = z.infer<typeof ParticipantInfo>;

/** Every method: its params (client → edge) and its result (edge → client). */
export const methods = {
  join: {
    params: z.object({ protocolVersion: z.number().int(), name: DisplayName }).strict(),
    result: z.object({
      protocolVersion: z.number().int(),
      participantId: Id,
      routerRtpCapabilities: RtpCapabilities,
      participants: z.array(ParticipantInfo),
    }),
  },
  createTransport: {
    params: z.object({ direction: z.enum(['send', 'recv']) }).strict(),
    result: TransportOptions,
  },
  connectTransport: {
    params: z.object({ transportId: Id, dtlsParameters: DtlsParameters }).strict(),
    result: z.object({}),
  },
  produce: {
    params: z
      .object({ transportId: Id, kind: MediaKind, rtpParameters: RtpParameters, source: MediaSource })
      .strict(),
    result: z.object({ producerId: Id }),
  },
  closeProducer: {
    params: z.object({ producerId: Id }).strict(),
    result: z.object({}),
  },
  consume: {
    params: z.object({ transportId: Id, producerId: Id, rtpCapabilities: RtpCapabilities }).strict(),
    result: z.object({
      consumerId: Id,
      producerId: Id,
      kind: MediaKind,
      rtpParameters: RtpParameters,
    }),
  },
  resumeConsumer: {
    params: z.object({ consumerId: Id }).strict(),
    result: z.object({}),
  },
  leave: { params: z.object({}).strict(), result: z.object({}) },
  ping: { params: z.object({}).strict(), result: z.object({ time: z.number() }) },
} as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.infer<(typeof methods)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof methods)[M]['result']>;

export const methodNames = Object.keys(methods) as Method[];

/** The envelope of a request, before its params are checked against the method's schema. */
export const RequestEnvelope = z
  .object({ id: RequestId, method: z.string().max(64), params: z.unknown().optional() })
  .strict();

/** Notifications the edge pushes to participants. */
export const events = {
  participantJoined: z.object({ participant: ParticipantInfo }),
  participantLeft: z.object({ participantId: Id }),
  producerAdded: z.object({ participantId: Id, producerId: Id, kind: MediaKind, source: MediaSource }),
  producerClosed: z.object({ participantId: Id, producerId: Id }),
  consumerClosed: z.object({ consumerId: Id }),
} as const;
export type EventName = keyof typeof events;
export type EventData<E extends EventName> = z.infer<(typeof events)[E]>;

export const WireError = z.object({ code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]), message: z.string() });

/** Any frame the edge sends; the browser parses every frame with this. */
export const ServerFrame = z.union([
  z.object({ id: RequestId, ok: z.literal(true), result: z.unknown() }),
  z.object({ id: RequestId.nullable(), ok: z.literal(false), error: WireError }),
  z.object({ event: z.enum(Object.keys(events) as [EventName, ...EventName[]]), data: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** WebSocket close codes the edge uses (4000-4999 is the application range). */
export const CloseCode = {
  /** Normal: the participant left. */
  Left: 1000,
  /** The frame exceeded the transport-level limit (RFC 6455 "message too big"). */
  MessageTooBig: 1009,
  /** The room was closed by the server. */
  RoomClosed: 4000,
} as const;
