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
 */
import { z } from 'zod';
import { buildPath } from './routes.ts';

/** The link's route on the edge (GET, upgraded to a WebSocket). */
export const NODE_LINK_ROUTE = '/api/nodes/:nodeId/link';

/** The path of a node's link. */
export function nodeLinkPath(nodeId: string): string {
  return buildPath(NODE_LINK_ROUTE, { nodeId });
}

/** The largest link message either end accepts (every message is a few dozen bytes). */
export const MAX_LINK_MESSAGE_BYTES = 1024;

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

/** What the edge sends on the link. */
export const EdgeLinkMessage = z.discriminatedUnion('type', [LinkHello, LinkPong]);
export type EdgeLinkMessage = z.infer<typeof EdgeLinkMessage>;
/** What the node sends on the link. */
export const NodeLinkMessage = z.discriminatedUnion('type', [LinkPing, LinkStopping]);
export type NodeLinkMessage = z.infer<typeof NodeLinkMessage>;

/** A frame parsed by `schema`; undefined for anything else (too large, not JSON, not the schema). */
export function parseLinkFrame<T>(schema: z.ZodType<T>, frame: string): T | undefined {
  if (frame.length > MAX_LINK_MESSAGE_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
