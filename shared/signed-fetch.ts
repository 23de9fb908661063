/**
 * One signed HTTP request between the edge and a media node, either direction: signs method, path and
 * body with the node's secret (shared/request-signing.ts) and sends them with `fetch` (every runtime has
 * it). What a caller does with the answer (deadlines over the body, size caps, retries) is its own.
 */
import { signRequest } from './request-signing.ts';

export interface SignedTarget {
  /** The receiver's origin, e.g. http://10.0.0.5:4000 (a trailing slash is ignored). */
  baseUrl: string;
  /** The node whose secret signs: the sender (node → edge) or the receiver (edge → node). */
  nodeId: string;
  secret: string;
}

export interface SignedFetchRequest {
  method: string;
  /** The path, e.g. from controlPath() or nodeApiPath(). */
  path: string;
  /** The body text (JSON); none for a GET. */
  body?: string;
  signal?: AbortSignal;
  /** The signing clock (default Date.now()); tests skew it to play a node whose clock is off. */
  now?: number;
}

/** Sends `request` to `target`, signed. The signature covers the path exactly as the URL carries it. */
export async function signedFetch(target: SignedTarget, request: SignedFetchRequest): Promise<Response> {
  const url = new URL(target.baseUrl.replace(/\/+$/, '') + request.path);
  const body = request.body ?? '';
  const signature = await signRequest(
    target.secret,
    target.nodeId,
    {
      method: request.method,
      path: url.pathname,
      body,
    },
    request.now,
  );
  return fetch(url, {
    method: request.method,
    headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...signature },
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(request.signal ? { signal: request.signal } : {}),
  });
}
