/**
 * What edges of a cluster say to each other over NATS about rooms (issue 12), and the subjects it goes
 * on. A relaying edge (it holds a participant's WebSocket but not the room) sends to the owner on the
 * room's subject, as request/reply (the reply is an immediate ack: "no responders" tells at once that
 * nobody owns the room here any more); the owner sends the room's frames for that socket back on the
 * relaying edge's own subject, numbered per socket: the relaying edge acks them on the owner's ack
 * subject, and the owner sends again what is not acked (relay-outbox.ts, relay-inbox.ts). The frame itself
 * is the message body, unchanged; what it is about travels in headers, each message's headers parsed by
 * the schemas below before anything acts on them.
 */
import { z } from 'zod';
import { Id, RoomName } from '../../shared/ids.ts';
import { EdgeId } from './settings.ts';

/** Where the room's owner listens (only the lease holder subscribes). */
export const roomSubject = (room: string) => `treffpunkt.room.${room}.in`;
/** Where an edge hears the frames of the sockets it relays. */
export const edgeSubject = (edgeId: string) => `treffpunkt.edge.${edgeId}.out`;
/** Where an owner hears relaying edges ack the frames it sent them on edgeSubject(). */
export const ackSubject = (edgeId: string) => `treffpunkt.edge.${edgeId}.acks`;

/** A relaying edge's id for one of its sockets (a NUID). */
const ConnId = z.string().regex(/^[A-Za-z0-9]{1,32}$/);
/**
 * The owner's numbering of the frames for one relayed socket (a NUID, new for every Connection the owner
 * makes for it): a later owner, or the same edge owning the room again, numbers in a stream of its own.
 */
const StreamId = z.string().regex(/^[A-Za-z0-9]{1,32}$/);
/** A frame's number in its stream, from 1. */
const Seq = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** To the owner, on roomSubject(). */
export const ToOwner = z.discriminatedUnion('kind', [
  /**
   * A socket opened (or comes back after the room moved: `participant` is who it had joined as).
   * `numbered`: this edge acks numbered frames (edges before them did not; they get frames unnumbered).
   */
  z.object({
    kind: z.literal('open'),
    edge: EdgeId,
    conn: ConnId,
    participant: Id.optional(),
    numbered: z.literal('1').optional(),
  }),
  /**
   * A frame from the socket; `binary`: the body is the frame's bytes, not UTF-8 text. `resent`: a request
   * handed on to an earlier owner that did not answer it (client-socket.ts): applied only if not yet.
   */
  z.object({
    kind: z.literal('frame'),
    edge: EdgeId,
    conn: ConnId,
    binary: z.literal('1').optional(),
    resent: z.literal('1').optional(),
  }),
  z.object({ kind: z.literal('close'), edge: EdgeId, conn: ConnId }),
  /** "I still relay sockets of this room": the owner forgets a relaying edge that stops saying it. */
  z.object({ kind: z.literal('probe'), edge: EdgeId }),
  /** A media node's event posted to a non-owner edge; the body is the MediaEvent as JSON. */
  z.object({ kind: z.literal('event'), edge: EdgeId, node: Id }),
]);
export type ToOwner = z.infer<typeof ToOwner>;

/** The owner's ack of a ToOwner message (the reply to the request). */
export const OwnerAck = z.discriminatedUnion('ok', [
  /** `stream`: in the ack of a numbered `open`, the stream the owner numbers this socket's frames in. */
  z.object({ ok: z.literal(true), stream: StreamId.optional() }),
  /** NOT_OWNER: this edge no longer runs the room. UNKNOWN_CONN: open the socket again first. */
  z.object({ ok: z.literal(false), code: z.enum(['NOT_OWNER', 'UNKNOWN_CONN']) }),
]);
export type OwnerAck = z.infer<typeof OwnerAck>;

/**
 * To a relaying edge, on edgeSubject(). A socket's frames and its close are numbered (`stream`, `seq`) for
 * a relaying edge that said `numbered` in its open; a close comes after the frames before it.
 */
export const ToRelay = z.discriminatedUnion('kind', [
  /** A frame for the socket; `participant`: who the socket is joined as now (for a later re-attach). */
  z.object({
    kind: z.literal('frame'),
    edge: EdgeId,
    room: RoomName,
    conn: ConnId,
    participant: Id.optional(),
    stream: StreamId.optional(),
    seq: Seq.optional(),
  }),
  z.object({
    kind: z.literal('close'),
    edge: EdgeId,
    room: RoomName,
    conn: ConnId,
    code: z.coerce.number().int().min(1000).max(4999),
    reason: z.string().max(123),
    stream: StreamId.optional(),
    seq: Seq.optional(),
  }),
  /** The owner handed the room over (shutdown) or lost it: find the new owner now, not at the next probe. */
  z.object({ kind: z.literal('moved'), room: RoomName, edge: EdgeId }),
]);
export type ToRelay = z.infer<typeof ToRelay>;

/** A relaying edge to the owner, on ackSubject(owner): the socket's frames of `stream` up to `seq` are in. */
export const RelayAck = z.object({
  kind: z.literal('ack'),
  edge: EdgeId,
  room: RoomName,
  conn: ConnId,
  stream: StreamId,
  seq: Seq,
});
export type RelayAck = z.infer<typeof RelayAck>;

/** Headers as a plain object, for the schemas above (absent headers: absent keys). */
export function headerFields(h: { keys(): string[]; get(k: string): string } | undefined): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const k of h?.keys() ?? []) fields[k.toLowerCase()] = h!.get(k);
  return fields;
}

/** Fields as headers (undefined ones left out). */
export function fieldHeaders(fields: Record<string, string | number | undefined>): [string, string][] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, String(v)]);
}
