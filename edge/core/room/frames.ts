/**
 * What a participant's socket sent, checked before it touches the room: the socket's message budget,
 * the size, JSON, the request envelope, the method and its params (each parsed by its schema in
 * shared/signaling.ts). The result is a typed request, or what to answer instead.
 */
import { ErrorCode, toWireError, TreffpunktError } from '../../../shared/errors.ts';
import { methods, RequestEnvelope, type Method, type Params } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';

/** Refused messages in a row after which a flooding socket is closed (4008). */
const FLOOD_CLOSE_AFTER = 200;

const RATE_LIMITED_ERROR = JSON.stringify(
  toWireError(new TreffpunktError(ErrorCode.RateLimited, 'too many messages; slow down')),
);

/** A request whose params passed their schema. */
export type Request = { [M in Method]: { id: number; method: M; params: Params<M> } }[Method];

export type Incoming =
  | { kind: 'request'; request: Request }
  /** Answered with this error reply, and no further. */
  | { kind: 'refused'; id: number | null; error: TreffpunktError }
  /** Over the message budget: answered with `reply`, a constant, without parsing. */
  | { kind: 'rateLimited'; reply: string }
  /** Over the budget for too long: the socket is to be closed (4008). */
  | { kind: 'flooding' };

/** Reads one frame; takes one message from the socket's budget. */
export function readFrame(conn: Connection, frame: string | ArrayBuffer, maxMessageBytes: number): Incoming {
  if (!conn.messages.take()) {
    // Every frame gets exactly one reply, a refused one too (docs/protocol.md): a client that counts its
    // replies never waits for one that does not come. The reply is a constant, not parsed from the frame,
    // so refusing costs the edge next to nothing. A client that keeps flooding after being told is cut
    // off; the others never wait for it.
    return conn.messages.refusedInARow > FLOOD_CLOSE_AFTER
      ? { kind: 'flooding' }
      : { kind: 'rateLimited', reply: rateLimitedReply(frame) };
  }
  const size = typeof frame === 'string' ? byteLength(frame) : frame.byteLength;
  if (size > maxMessageBytes)
    return refused(null, ErrorCode.MessageTooLarge, `messages are limited to ${maxMessageBytes} bytes`);
  if (typeof frame !== 'string') return refused(null, ErrorCode.BadJson, 'binary frames are not accepted');
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return refused(null, ErrorCode.BadJson, 'the message is not valid JSON');
  }
  const envelope = RequestEnvelope.safeParse(json);
  if (!envelope.success)
    return refused(
      requestIdOf(json),
      ErrorCode.BadMessage,
      'a request is {"id": <integer>, "method": <string>, "params": {…}}',
    );
  const { id, method } = envelope.data;
  if (!Object.hasOwn(methods, method))
    return refused(id, ErrorCode.UnknownMethod, `unknown method "${method.slice(0, 64)}"`);
  const m = method as Method;
  const params = methods[m].params.safeParse(envelope.data.params ?? {});
  if (!params.success) {
    const issue = params.error.issues[0];
    return refused(
      id,
      ErrorCode.BadMessage,
      `invalid ${m} params: ${issue?.path.join('.') || '(params)'}: ${issue?.message}`,
    );
  }
  return { kind: 'request', request: { id, method: m, params: params.data } as Request };
}

function refused(id: number | null, code: ErrorCode, message: string): Incoming {
  return { kind: 'refused', id, error: new TreffpunktError(code, message) };
}

/**
 * The reply to a frame refused by the rate limit. The frame is not parsed (refusing must stay cheap), but a
 * request that starts with its id, as every client built on JSON.stringify sends it, gets its id back so that
 * the client can fail that request at once instead of waiting for it to time out; any other frame gets null.
 */
function rateLimitedReply(frame: string | ArrayBuffer): string {
  const id =
    typeof frame === 'string' ? /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(frame.slice(0, 48))?.[1] : undefined;
  return `{"id":${id ?? 'null'},"ok":false,"error":${RATE_LIMITED_ERROR}}`;
}

function byteLength(s: string): number {
  // Cheap upper bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  return s.length * 3 <= 1024 ? s.length * 3 : new TextEncoder().encode(s).byteLength;
}

/** The request id of a malformed request, when one can be read, so the client can match the error. */
function requestIdOf(json: unknown): number | null {
  if (typeof json === 'object' && json !== null && 'id' in json) {
    const id = (json as { id: unknown }).id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return id;
  }
  return null;
}
