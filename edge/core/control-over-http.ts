/**
 * A control call as a signed HTTP request to the node's control API (shared/signed-fetch.ts), at the
 * route of the operation in the shared control table: the way every call went before the node link
 * carried them, and still the way when this edge holds no link to the node (media-node-client.ts).
 */
import type { SignedTarget } from '../../shared/signed-fetch.ts';
import { signedFetch } from '../../shared/signed-fetch.ts';
import type { ControlAnswer } from './media-node-client.ts';

/**
 * The largest control response the edge reads. Router capabilities, the largest, are a few KiB; a node
 * that sends more is broken or hostile, and must not fill the edge's memory.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * POSTs `body` to `path` and reads the answer, both bounded by `signal` and `deadline` (the caller's
 * deadline or abort; not every runtime ends a body read when the fetch's signal fires after the headers).
 * Rejects when the node does not answer; an answer that is not JSON or too large has `json` undefined.
 */
export async function callOverHttp(
  target: SignedTarget,
  request: { method: string; path: string; body: string },
  signal: AbortSignal,
  deadline: Promise<never>,
): Promise<ControlAnswer> {
  const res = await Promise.race([signedFetch(target, { ...request, signal }), deadline]);
  const raw = await readCapped(res, deadline);
  return {
    ok: res.status >= 200 && res.status <= 299,
    json: raw === undefined ? undefined : parseJson(raw),
    detail: `HTTP ${res.status}`,
  };
}

/**
 * The body as text, or undefined when it is larger than MAX_RESPONSE_BYTES (treated like invalid JSON).
 * Each read races `deadline`, and a read cut short cancels the body.
 */
async function readCapped(res: Response, deadline: Promise<never>): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await Promise.race([reader.read(), deadline]);
    } catch (err) {
      void reader.cancel().catch(() => {});
      throw err;
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
