/**
 * Calls a media node's control API (shared/signed-fetch.ts: signed with the node's secret), at the
 * route of the operation in the shared control table: an operation and its path cannot disagree. Bodies are checked against the shared control
 * schemas before sending and responses are parsed before use: the node is another trust domain,
 * possibly another operator.
 */
import {
  control,
  ControlError,
  controlPath,
  type ControlBody,
  type ControlIds,
  type ControlOp,
  type ControlResponse,
} from '../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { signedFetch } from '../../shared/signed-fetch.ts';
import { type EdgeMetrics, noMetrics, now, secondsSince } from './metrics.ts';

export interface MediaNodeTarget {
  nodeId: string;
  controlUrl: string;
  secret: string;
  /** Aborts the call early: the room found the node lost while the call hung (a frozen node). */
  abort?: AbortSignal;
  /** Where each call's operation, outcome and latency are counted. */
  metrics?: EdgeMetrics;
}

/**
 * The deadline of one control call, from sending the request to the last byte of the answer. mediasoup
 * answers in milliseconds; a node that takes seconds is as good as gone. It also bounds how long one call
 * can hold a room's queue.
 */
const REQUEST_TIMEOUT_MS = 5_000;

/**
 * The largest control response the edge reads. Router capabilities, the largest, are a few KiB; a node
 * that sends more is broken or hostile, and must not fill the edge's memory.
 */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The body as text, or undefined when it is larger than MAX_RESPONSE_BYTES (treated like invalid JSON).
 * Each read races `deadline`, and a read cut short cancels the body: not every runtime ends a body read
 * when the fetch's signal fires after the headers arrived.
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

/** The node did not answer at all (refused, reset, timed out): a hint that it may be down. */
export class NodeUnreachableError extends TreffpunktError {
  readonly nodeId: string;
  constructor(nodeId: string, cause: unknown) {
    super(ErrorCode.MediaNodeError, `media node ${nodeId} is unreachable`, { cause });
    this.nodeId = nodeId;
  }
}

export class MediaNodeClient {
  readonly nodeId: string;
  readonly #baseUrl: string;
  readonly #secret: string;
  readonly #abort: AbortSignal | undefined;
  readonly #metrics: EdgeMetrics;

  constructor(target: MediaNodeTarget) {
    this.#metrics = target.metrics ?? noMetrics;
    this.nodeId = target.nodeId;
    this.#baseUrl = target.controlUrl.replace(/\/+$/, '');
    this.#secret = target.secret;
    this.#abort = target.abort;
  }

  /**
   * `ids`: the parameters of the operation's route (shared/control.ts), URL-encoded into the path.
   * @example client.call('createTransport', { room }, { participantId, direction: 'send' })
   */
  async call<O extends ControlOp>(op: O, ids: ControlIds<O>, body: ControlBody<O>): Promise<ControlResponse<O>> {
    const start = now();
    try {
      const result = await this.#call(op, ids, body);
      this.#metrics.nodeCall(op, this.nodeId, 'ok', secondsSince(start));
      return result;
    } catch (err) {
      const outcome =
        err instanceof NodeUnreachableError ? 'unreachable' : err instanceof TreffpunktError ? err.code : 'error';
      this.#metrics.nodeCall(op, this.nodeId, outcome, secondsSince(start));
      throw err;
    }
  }

  async #call<O extends ControlOp>(op: O, ids: ControlIds<O>, body: ControlBody<O>): Promise<ControlResponse<O>> {
    const spec = control[op];
    const path = controlPath(op, ids);
    const text = JSON.stringify(spec.body.parse(body));
    // One deadline for the whole call, the response body included: a node that sends its headers and then
    // dribbles the body would otherwise hold the room's queue for as long as it likes. The deadline or the
    // room's abort, whichever comes first (by hand: not every runtime has AbortSignal.any).
    const stop = new AbortController();
    let expire!: (why: Error) => void;
    const expired = new Promise<never>((_, reject) => (expire = reject));
    expired.catch(() => {});
    const end = (why: string) => {
      if (stop.signal.aborted) return;
      const err = new Error(why);
      stop.abort(err);
      expire(err);
    };
    const timer = setTimeout(() => end('timed out'), REQUEST_TIMEOUT_MS);
    const onAbort = () => end('the node was found lost');
    this.#abort?.addEventListener('abort', onAbort, { once: true });
    let status: number;
    let json: unknown;
    try {
      if (this.#abort?.aborted) throw new Error('the node was found lost');
      const res = await Promise.race([
        signedFetch(
          { baseUrl: this.#baseUrl, nodeId: this.nodeId, secret: this.#secret },
          { method: spec.method, path, body: text, signal: stop.signal },
        ),
        expired,
      ]);
      status = res.status;
      const raw = await readCapped(res, expired);
      json = raw === undefined ? undefined : parseJson(raw);
    } catch (err) {
      throw new NodeUnreachableError(this.nodeId, err);
    } finally {
      clearTimeout(timer);
      this.#abort?.removeEventListener('abort', onAbort);
    }
    if (status < 200 || status > 299) {
      const parsed = ControlError.safeParse(json);
      if (
        parsed.success &&
        parsed.data.error.code !== ErrorCode.Internal &&
        parsed.data.error.code !== ErrorCode.Unauthorized
      ) {
        throw new TreffpunktError(parsed.data.error.code, parsed.data.error.message);
      }
      throw new TreffpunktError(ErrorCode.MediaNodeError, `media node ${this.nodeId} failed (${op}, HTTP ${status})`);
    }
    const parsed = spec.response.safeParse(json);
    if (!parsed.success) {
      throw new TreffpunktError(ErrorCode.MediaNodeError, `media node ${this.nodeId} sent an invalid ${op} response`);
    }
    return parsed.data as ControlResponse<O>;
  }

  /** Whether the node answers its health check within `timeoutMs` (used when a call failed). */
  async reachable(timeoutMs = 1_000): Promise<boolean> {
    try {
      const res = await fetch(`${this.#baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}
