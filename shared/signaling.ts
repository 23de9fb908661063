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
import { Id } from './ids.ts';
import { ChatText, DisplayName, TriedLine } from './readable-text.ts';
import {
  DtlsParameters,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  IceParameters,
  RtpParameters,
  TransportOptions,
} from './media-types.ts';

export { RoomName } from './ids.ts';
export { ChatText, DisplayName, nameKey, TriedLine } from './readable-text.ts';
export const RegionHint = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'region ids are 1-64 lowercase letters, digits or -');

/** What a participant may do: moderators run the room, guests are admitted by policy or by a moderator. */
export const Role = z.enum(['moderator', 'participant', 'guest']);
export type Role = z.infer<typeof Role>;
/** An RTCIceServer with TURN REST credentials for this participant on its media node. */
export const IceServer = z.object({
  urls: z.array(z.string().max(300)).min(1).max(8),
  username: z.string().max(256),
  credential: z.string().max(256),
});
export type IceServer = z.infer<typeof IceServer>;
/** A way to the media node (edge/web/meeting/media-paths.ts): direct UDP or ICE-TCP, or its TURN over UDP, TCP or TLS. */
export const IcePath = z.enum(['udp', 'tcp', 'turn-udp', 'turn-tcp', 'turn-tls']);
export type IcePath = z.infer<typeof IcePath>;
const RequestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ParticipantInfo = z.object({
  id: Id,
  name: z.string(),
  /**
   * True when the name comes from a join token (a trusted issuer vouches for it); false for a name the
   * participant typed themselves (a guest, or anyone in an open deployment). The app marks the difference.
   */
  verified: z.boolean(),
  role: Role,
  handRaised: z.boolean(),
  producers: z.array(z.object({ id: Id, kind: MediaKind, source: MediaSource, paused: z.boolean() })),
});
export type ParticipantInfo = z.infer<typeof ParticipantInfo>;

/**
 * A transport as the edge made it for a participant (`createTransport`'s result, and `join`'s when asked).
 * `iceServers`: TURN on the participant's media node, for when a direct path fails. Its credentials
 * expire after `iceServersExpireIn` seconds, and with them every allocation made with them: renew before
 * that with `restartIce`, which brings new ones (docs/turn.md, "Credential lifetime").
 */
export const MadeTransport = TransportOptions.extend({
  iceServers: z.array(IceServer).max(4),
  iceServersExpireIn: z.number().int().min(1).optional(),
});
export type MadeTransport = z.infer<typeof MadeTransport>;

/**
 * What a `join` may ask to be made with it (issue 14, "fewer round trips"): the participant's transports,
 * made on its media node right after it is in, and connected with `dtlsParameters` (the client's own
 * DTLS certificate, known before any SDP: edge/web/meeting/dtls-identity.ts) — a `createTransport` and a
 * `connectTransport` round trip saved per transport.
 */
export const JoinMedia = z
  .object({
    transports: z
      .array(z.enum(['send', 'recv']))
      .min(1)
      .max(2)
      .refine((d) => new Set(d).size === d.length, 'each direction once'),
    dtlsParameters: DtlsParameters.optional(),
  })
  .strict();
export type JoinMedia = z.infer<typeof JoinMedia>;

/** A transport made with the join; `connected`: the node has the client's DTLS parameters (no connectTransport). */
export const JoinTransport = MadeTransport.extend({ connected: z.boolean() });
export type JoinTransport = z.infer<typeof JoinTransport>;

export const JoinResult = z.object({
  protocolVersion: z.number().int(),
  participantId: Id,
  /** Proves, on a new socket, that you are this participant (method `resume`). Keep it in memory only. */
  resumeToken: z.string(),
  role: Role,
  locked: z.boolean(),
  routerRtpCapabilities: RtpCapabilities,
  participants: z.array(ParticipantInfo),
  /**
   * `resume` only: yourself as the room knows you — your producers included, e.g. one whose `produce`
   * reply was lost with the old socket (the client closes those it does not know).
   */
  you: ParticipantInfo.optional(),
  /**
   * `join` with `media` only: the transports it asked for, each made unless that failed (then the client
   * asks `createTransport` as without `media`). Never on `resume` or `admitted`.
   */
  transports: z.object({ send: JoinTransport.optional(), recv: JoinTransport.optional() }).optional(),
});
export type JoinResult = z.infer<typeof JoinResult>;

const Target = z.object({ participantId: Id }).strict();
const Empty = z.object({}).strict();

/** Every method: its params (client → edge) and its result (edge → client). */
export const methods = {
  /**
   * `token`: a join token (JWT) naming room, name and role; its name wins over `name`. Without one the
   * deployment's guest policy decides. A participant who must wait gets the error WAITING_IN_LOBBY and,
   * once a moderator admits them, the `admitted` event carrying this same result.
   */
  join: {
    params: z
      .object({
        protocolVersion: z.number().int(),
        name: DisplayName.optional(),
        token: z.string().min(1).max(8192).optional(),
        /**
         * Where the participant is (a region id as media nodes register it, e.g. "eu-central"): a hint
         * for choosing a media node near them. A deployment may derive it from geo data instead.
         */
        region: RegionHint.optional(),
        /** Transports to make with the join (JoinMedia): saves their round trips. */
        media: JoinMedia.optional(),
      })
      .strict(),
    result: JoinResult,
  },
  /**
   * On a new socket after the old one dropped: continue as the same participant, with your transports,
   * producers and consumers, within the grace period. The others see no leave and no join.
   */
  resume: {
    params: z
      .object({ protocolVersion: z.number().int(), participantId: Id, resumeToken: z.string().min(1).max(128) })
      .strict(),
    result: JoinResult,
  },
  createTransport: {
    params: z.object({ direction: z.enum(['send', 'recv']) }).strict(),
    result: MadeTransport,
  },
  connectTransport: {
    params: z.object({ transportId: Id, dtlsParameters: DtlsParameters }).strict(),
    result: z.object({}),
  },
  /**
   * The media path of a transport broke while its node is alive (a network change): new ICE credentials
   * for the same transport; the client restarts ICE with them and keeps its producers and consumers.
   */
  restartIce: {
    params: z.object({ transportId: Id }).strict(),
    /** With fresh TURN credentials (`iceServers`, as createTransport's), which the restart then uses. */
    result: z.object({
      iceParameters: IceParameters,
      iceServers: z.array(IceServer).max(4).optional(),
      iceServersExpireIn: z.number().int().min(1).optional(),
    }),
  },
  produce: {
    params: z.object({ transportId: Id, kind: MediaKind, rtpParameters: RtpParameters, source: MediaSource }).strict(),
    result: z.object({ producerId: Id }),
  },
  closeProducer: {
    params: z.object({ producerId: Id }).strict(),
    result: z.object({}),
  },
  /** Mute or unmute one of your producers on the server: nothing is forwarded while paused. */
  setProducerPaused: {
    params: z.object({ producerId: Id, paused: z.boolean() }).strict(),
    result: z.object({}),
  },
  /**
   * A consumer starts paused, and `resumeConsumer` starts it once your side is set up. `paused: false`
   * asks for an audio consumer that runs at once (one round trip less; the packets before your side
   * exists are only a few milliseconds of sound). A video consumer always starts paused: its first key
   * frame must not arrive before your side can decode it. The result's `paused` says which it is; an
   * edge older than this field sends none, and the consumer is then paused.
   */
  consume: {
    params: z
      .object({ transportId: Id, producerId: Id, rtpCapabilities: RtpCapabilities, paused: z.boolean().optional() })
      .strict(),
    result: z.object({
      consumerId: Id,
      producerId: Id,
      kind: MediaKind,
      rtpParameters: RtpParameters,
      paused: z.boolean().optional(),
    }),
  },
  resumeConsumer: {
    params: z.object({ consumerId: Id }).strict(),
    result: z.object({}),
  },
  /** Which simulcast layer you want of a video consumer (0 = lowest); the SFU still lowers it under congestion. */
  setConsumerLayers: {
    params: z
      .object({
        consumerId: Id,
        spatialLayer: z.number().int().min(0).max(2),
        temporalLayer: z.number().int().min(0).max(2).optional(),
      })
      .strict(),
    result: z.object({}),
  },
  /** A chat message to everyone in the room (also echoed to the sender). Not stored. */
  chat: {
    params: z.object({ text: ChatText }).strict(),
    result: z.object({ time: z.number() }),
  },
  setHand: {
    params: z.object({ raised: z.boolean() }).strict(),
    result: z.object({}),
  },
  /**
   * The app's media failed: even the relay did not connect (the banner "media is blocked"). The room
   * logs it for the operator, naming the participant (by id) and its media node; at most one line per
   * participant a minute, the rest counted. Nothing else happens: the app retries when the person asks.
   */
  reportMediaFailure: {
    params: z
      .object({
        /** The transports that failed, last first attempt and relay retry included (at most 4). */
        transports: z
          .array(
            z
              .object({
                direction: z.enum(['send', 'recv']),
                transportId: Id.optional(),
                policy: z.enum(['all', 'relay']),
              })
              .strict(),
          )
          .max(4),
        /** Every ICE path tried (IcePath), each once. */
        paths: z.array(IcePath).max(5),
        /** What ICE tried, one line each (the app's diagnostics). */
        tried: z.array(TriedLine).max(24),
      })
      .strict(),
    result: z.object({}),
  },
  /**
   * After a `mediaMoved` with `keepOld`: your media on the new node is up (every remote source you
   * received at the move decodes there, or you gave up waiting). Once everyone moved off the draining
   * node has said so (or after the room's deadline), the room closes its media there (`oldMediaClosed`).
   * Idempotent: said again, or after the deadline, it changes nothing.
   */
  mediaMoveDone: { params: z.object({}).strict(), result: z.object({}) },
  // --- moderators only (FORBIDDEN for everyone else) ---
  /** Locked: newcomers without the moderator role wait in the lobby. */
  lockRoom: { params: z.object({ locked: z.boolean() }).strict(), result: z.object({}) },
  admit: { params: Target, result: z.object({}) },
  refuse: { params: Target, result: z.object({}) },
  /** Pauses the participant's producers of that source on the server; only they can unmute. */
  muteParticipant: { params: z.object({ participantId: Id, source: MediaSource }).strict(), result: z.object({}) },
  askToUnmute: { params: z.object({ participantId: Id, source: MediaSource }).strict(), result: z.object({}) },
  removeParticipant: { params: Target, result: z.object({}) },
  endMeeting: { params: Empty, result: z.object({}) },

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
  producerPaused: z.object({ participantId: Id, producerId: Id, paused: z.boolean() }),
  /** Send quality of a producer as the SFU sees it: 0 (nothing arrives) to 10 (perfect). */
  producerScore: z.object({ participantId: Id, producerId: Id, score: z.number().int().min(0).max(10) }),
  consumerClosed: z.object({ consumerId: Id }),
  /** The loudest speaker over the last seconds, decided by the SFU (null: nobody speaks). */
  activeSpeaker: z.object({ participantId: Id.nullable() }),
  chat: z.object({ participantId: Id, name: z.string(), text: z.string(), time: z.number() }),
  handChanged: z.object({ participantId: Id, raised: z.boolean() }),
  /** To moderators: who waits in the lobby now. */
  lobbyChanged: z.object({ waiting: z.array(z.object({ id: Id, name: z.string(), verified: z.boolean() })) }),
  /** To a participant waiting in the lobby: you are in; the same data as a join result. */
  admitted: JoinResult,
  roomLocked: z.object({ locked: z.boolean() }),
  /** To one participant: a moderator muted your producer(s) of this source. */
  mutedByModerator: z.object({ source: MediaSource }),
  /** To one participant: a moderator asks you to unmute (you decide). */
  unmuteRequested: z.object({ source: MediaSource }),
  /**
   * To one participant: your media node failed or is being drained, and the room moved you to another.
   * Load a device with `routerRtpCapabilities`, create new transports, produce your tracks again (audio
   * first) and consume everyone's current producers again. Your place in the room, chat and roster are kept.
   *
   * Without `keepOld` (a failed node: break-before-make) your transports, producers and consumers are
   * gone (the others got producerClosed for yours). With `keepOld` (a draining node: make-before-break)
   * they still flow on the old node: keep playing them while you build the new ones, switch each remote
   * source over once its new consumer decodes, then say `mediaMoveDone`; `oldMediaClosed` follows and
   * you close the old transports. The room forgot the old producers (everyone's, not only yours): do not
   * consume them again. `staying`: the room's producers that do not move (on other nodes), which you
   * consume again on the new node as they are; every other producer you knew of is being replaced (its
   * owner moves too: producerAdded brings the new one, producerClosed ends the old one). `keepOldMs`:
   * how long the room keeps the old media at most (TREFFPUNKT_HANDOVER_DEADLINE_MS); say done before.
   */
  mediaMoved: z.object({
    reason: z.enum(['nodeFailed', 'nodeDraining']),
    routerRtpCapabilities: RtpCapabilities,
    keepOld: z.literal(true).optional(),
    staying: z.array(Id).max(10_000).optional(),
    keepOldMs: z.number().int().min(0).max(600_000).optional(),
  }),
  /**
   * To one participant after a `keepOld` move: the room is closing your media on the node you left (the
   * others got producerClosed for your old producers, you for theirs). Close your old transports now.
   */
  oldMediaClosed: z.object({}),
  /**
   * To one participant: your media node failed and no other node may carry your media (none is up, or
   * none meets the room's operator/jurisdiction constraint). You stay in the room (chat, roster); the
   * room keeps trying and sends mediaMoved when a node is available.
   */
  mediaUnavailable: z.object({ code: z.enum(['NO_MEDIA_NODE', 'CONSTRAINT_UNMET']), message: z.string() }),
} as const;
export type EventName = keyof typeof events;
export type EventData<E extends EventName> = z.infer<(typeof events)[E]>;

export const WireError = z.object({
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
});

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
  /**
   * The edge is restarting (SIGTERM, RFC 6455 "Service Restart"), or, in an edge cluster, its room moved to
   * another edge: reconnect (to any edge) and `resume`, nothing is lost.
   */
  ServiceRestart: 1012,
  /** A moderator ended the meeting for everyone. */
  MeetingEnded: 4000,
  /** A moderator removed this participant. */
  Removed: 4001,
  /** A moderator refused this participant's entry from the lobby. */
  Refused: 4003,
  /** Too many messages too fast on this connection. */
  RateLimited: 4008,
  /** The socket neither joined nor resumed within TREFFPUNKT_JOIN_TIMEOUT_MS (waiting in the lobby counts as joined). */
  JoinTimeout: 4009,
  /**
   * Edge cluster: a frame the room's owner sent for this socket was lost between edges for good (the edge
   * holding the socket saw a gap that did not fill; docs/edge-cluster.md): `resume` to see the room as it is.
   */
  FramesLost: 4010,
} as const;
