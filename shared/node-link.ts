/**
 * The node link (issue 14, "know a node is dead the moment it dies"): a WebSocket each media node holds to
 * the edge it registered with. The kernel closes it when the node process dies (kill -9, a crash), so the
 * edge learns of the death at once instead of after TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS; pings every
 * quarter of the edge's silence bound catch a frozen node (SIGSTOP) within about a second. The link only
 * adds faster detection: registration and heartbeats (shared/node-api.ts) stay the node's lifeline, and a
 * node whose link never comes up works as before.
 *
 * The upgrade request is signed like every node request (shared/request-signing.ts: method GET, the link
 * path, an empty body). Messages are JSON text frames, parsed by these schemas on both ends.
 *
 * Control calls (issue 14, "fewer round trips"): a node that says so at the upgrade (LINK_FEATURES_HEADER)
 * also serves the edge's control calls (shared/control.ts) on its link: `call` frames, each answered by a
 * `result` or an `error` frame of the same id, many in flight at once. The node runs them exactly as its
 * HTTP control API does; the edge falls back to HTTP whenever it holds no such link to the node.
 */
import { z } from 'zod';
import { buildPath } from './routes.ts';

/** The link's route on the edge (GET, upgraded to a WebSocket). */
export const NODE_LINK_ROUTE = '/api/nodes/:nodeId/link';

/** The path of a node's link. */
export function nodeLinkPath(nodeId: string): string {
  return buildPath(NODE_LINK_ROUTE, { nodeId });
}

/** The largest link message either end accepts, calls and their answers aside (a few dozen bytes each). */
export const MAX_LINK_MESSAGE_BYTES = 1024;

/**
 * The largest `call`, `result` or `error` frame: the edge reads no larger control answer over HTTP either
 * (MAX_RESPONSE_BYTES in edge/core/media-node-client.ts). Router capabilities, the largest answer, are a
 * few KiB; every other message keeps the small bound above. A call that would not fit goes over HTTP.
 */
export const MAX_LINK_CALL_BYTES = 1024 * 1024;

/**
 * Whether a call, result or error frame (JSON text) fits MAX_LINK_CALL_BYTES in UTF-8, as the receiving
 * socket counts it (the text's length counts UTF-16 units, which is never more than its UTF-8 bytes).
 */
export function fitsLinkCallFrame(text: string): boolean {
  if (text.length > MAX_LINK_CALL_BYTES) return false;
  return text.length * 3 <= MAX_LINK_CALL_BYTES || new TextEncoder().encode(text).byteLength <= MAX_LINK_CALL_BYTES;
}

/**
 * The upgrade request's header naming what the node serves on its link beyond pings, comma-separated.
 * A header, because older edges ignore it (they refuse unknown link messages, and older nodes unknown
 * fields); it is not signed, see docs/security.md ("Node link").
 */
export const LINK_FEATURES_HEADER = 'x-treffpunkt-link-features';
/** The node serves control calls on its link. */
export const LINK_CONTROL_CALLS = 'control-calls';

/** Whether an upgrade's LINK_FEATURES_HEADER value names `feature`. */
export function hasLinkFeature(header: string | undefined, feature: string): boolean {
  return (header ?? '').split(',').some((f) => f.trim() === feature);
}

const Seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The edge, once the link is open: how often the node pings (a quarter of the edge's silence bound). */
export const LinkHello = z
  .object({ type: z.literal('hello'), pingIntervalMs: z.number().int().min(50).max(60_000) })
  .strict();
/** The node is alive. */
export const LinkPing = z.object({ type: z.literal('ping'), seq: Seq }).strict();
/** The edge heard the ping of that number. */
export const LinkPong = z.object({ type: z.literal('pong'), seq: Seq }).strict();
/**
 * The node closes the link on purpose: it shuts down (after its drain), it moves to another edge of a
 * cluster, or it links again (the edge stayed silent). The close that follows is not a death.
 */
export const LinkStopping = z
  .object({ type: z.literal('stopping'), reason: z.enum(['shutdown', 'edge switch', 'reconnect']) })
  .strict();

/**
 * The edge calls a control operation: `op` and `ids` as in the control table (the route's parameters, not
 * encoded), `body` its body. `id` is the edge's number for the call, unique on this link. The node checks
 * op, ids and body as its HTTP control API does (media-node/control-calls.ts).
 */
export const LinkCall = z
  .object({
    type: z.literal('call'),
    id: Seq,
    op: z.string().min(1).max(64),
    ids: z.record(z.string().max(32), z.string().max(512)).refine((ids) => Object.keys(ids).length <= 4, {
      error: 'too many ids',
    }),
    body: z.unknown(),
  })
  .strict();
export type LinkCall = z.infer<typeof LinkCall>;
/** Just the number of a call frame, to answer a call whose other fields are not the schema. */
export const LinkCallId = z.object({ type: z.literal('call'), id: Seq });
/**
 * The node served call `id`: its response, which the edge parses with the operation's response schema
 * (the node is another trust domain), as it parses an HTTP answer.
 */
export const LinkResult = z.object({ type: z.literal('result'), id: Seq, response: z.unknown() }).strict();
/** The node refused or failed call `id`: `error` as in an HTTP error body ({code, message}, ControlError). */
export const LinkError = z.object({ type: z.literal('error'), id: Seq, error: z.unknown() }).strict();
export type LinkAnswer = z.infer<typeof LinkResult> | z.infer<typeof LinkError>;

/** The frame types that may be larger than MAX_LINK_MESSAGE_BYTES (up to MAX_LINK_CALL_BYTES). */
const CALL_FRAME_TYPES: ReadonlySet<unknown> = new Set(['call', 'result', 'error']);

/** What the edge sends on the link. */
export const EdgeLinkMessage = z.discriminatedUnion('type', [LinkHello, LinkPong, LinkCall]);
export type EdgeLinkMessage = z.infer<typeof EdgeLinkMessage>;
/** What the node sends on the link. */
export const NodeLinkMessage = z.discriminatedUnion('type', [LinkPing, LinkStopping, LinkResult, LinkError]);
export type NodeLinkMessage = z.infer<typeof NodeLinkMessage>;

/**
 * A frame parsed by `schema`; undefined for anything else (too large, not JSON, not the schema). Only
 * call frames and their answers may exceed MAX_LINK_MESSAGE_BYTES, up to MAX_LINK_CALL_BYTES.
 */
export function parseLinkFrame<T>(schema: z.ZodType<T>, frame: string): T | undefined {
  if (frame.length > MAX_LINK_CALL_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (frame.length > MAX_LINK_MESSAGE_BYTES && !CALL_FRAME_TYPES.has((json as { type?: unknown } | null)?.type))
    return undefined;
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
