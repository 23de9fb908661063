/**
 * Speaking to the edge's node API (/api/nodes/...) as a media node would, from a test: for nodes the test
 * plays itself (fake control servers, floods, forged registrations).
 */
import { signedFetch } from '../../shared/signed-fetch.ts';

export interface NodeApiReply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** POSTs `body` to `edgeUrl + path`, signed with `secret` as node `nodeId`. */
export async function nodePost(
  edgeUrl: string,
  nodeId: string,
  secret: string,
  path: string,
  body: unknown,
): Promise<NodeApiReply> {
  const res = await signedFetch(
    { baseUrl: edgeUrl, nodeId, secret },
    { method: 'POST', path, body: JSON.stringify(body) },
  );
  return { status: res.status, body: (await res.json().catch(() => ({}))) as NodeApiReply['body'] };
}

export const idleLoad = { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 };

/** A registration body for `nodeId`; fields may be overridden. */
export function registration(
  nodeId: string,
  controlUrl: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return { nodeId, controlUrl, region: 'test', operator: 'local', load: idleLoad, ...over };
}
