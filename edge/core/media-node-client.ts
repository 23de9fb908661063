/**
 * Calls a media node's control operations (the shared control table, shared/control.ts): over the node's
 * link when this edge holds one that serves calls (link-calls.ts, issue 14), otherwise as a signed HTTP
 * request to its control API (control-over-http.ts). Both ways behave the same: bodies are checked
 * against the shared control schemas before sending, one deadline and the room's abort bound each call,
 * and every answer is parsed by the operation's schema before use: the node is another trust domain,
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
import { callOverHttp } from './control-over-http.ts';
import type { LinkCallAnswer, LinkCalls } from './link-calls.ts';
import { type ControlVia, type EdgeMetrics, noMetrics, now, secondsSince } from './metrics.ts';

export interface MediaNodeTarget {
  nodeId: string;
  controlUrl: string;
  secret: string;
  /** Aborts the call early: the room found the node lost while the call hung (a frozen node). */
  abort?: AbortSignal;
  /** Where each call's operation, outcome, latency and way (link or HTTP) are counted. */
  metrics?: EdgeMetrics;
  /**
   * The calls of this edge's open link to the node, looked up at each call (a link comes and goes);
   * undefined, or absent: the call goes over HTTP.
   */
  link?: () => LinkCalls | undefined;
}

/** The node's answer to a call, either way, before the client checks it. */
export interface ControlAnswer {
  /** The node served the call (HTTP 2xx, or a `result` frame). */
  ok: boolean;
  /** The response, or the error body ({ error: { code, message } }); undefined when not JSON. */
  json: unknown;
  /** How it came, for error messages: "HTTP 500", "over the node link". */
  detail: string;
}

/**
 * The deadline of one control call, from sending the request to the last byte of the answer. mediasoup
 * answers in milliseconds; a node that takes seconds is as good as gone. It also bounds how long one call
 * can hold a room's queue.
 */
const REQUEST_TIMEOUT_MS = 5_000;

/** The node did not answer at all (refused, reset, timed out, its link closed): a hint that it may be down. */
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
  readonly #link: (() => LinkCalls | undefined) | undefined;

  constructor(target: MediaNodeTarget) {
    this.#metrics = target.metrics ?? noMetrics;
    this.nodeId = target.nodeId;
    this.#baseUrl = target.controlUrl.replace(/\/+$/, '');
    this.#secret = target.secret;
    this.#abort = target.abort;
    this.#link = target.link;
  }

  /**
   * `ids`: the parameters of the operation's route (shared/control.ts), URL-encoded into the path.
   * @example client.call('createTransport', { room }, { participantId, direction: 'send' })
   */
  async call<O extends ControlOp>(op: O, ids: ControlIds<O>, body: ControlBody<O>): Promise<ControlResponse<O>> {
    const start = now();
    // The way it goes, once chosen; until then (a body the schema refuses) the way it would have gone.
    const way: { via: ControlVia } = { via: this.#link?.() ? 'link' : 'http' };
    try {
      const result = await this.#call(op, ids, body, way);
      this.#metrics.nodeCall(op, this.nodeId, 'ok', secondsSince(start), way.via);
      return result;
    } catch (err) {
      const outcome =
        err instanceof NodeUnreachableError ? 'unreachable' : err instanceof TreffpunktError ? err.code : 'error';
      this.#metrics.nodeCall(op, this.nodeId, outcome, secondsSince(start), way.via);
      throw err;
    }
  }

  /** `way.via` is set to the way the call went, for the metrics. */
  async #call<O extends ControlOp>(
    op: O,
    ids: ControlIds<O>,
    body: ControlBody<O>,
    way: { via: ControlVia },
  ): Promise<ControlResponse<O>> {
    const spec = control[op];
    const checked = spec.body.parse(body);
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
    let answer: ControlAnswer;
    try {
      if (this.#abort?.aborted) throw new Error('the node was found lost');
      // The one place that chooses the way: the link when it is open here and the call fits in a frame.
      const overLink = this.#link?.()?.call(op, ids as Record<string, string>, checked, stop.signal);
      way.via = overLink ? 'link' : 'http';
      answer = overLink
        ? linkAnswer(await Promise.race([overLink, expired]))
        : await callOverHttp(
            { baseUrl: this.#baseUrl, nodeId: this.nodeId, secret: this.#secret },
            { method: spec.method, path: controlPath(op, ids), body: JSON.stringify(checked) },
            stop.signal,
            expired,
          );
    } catch (err) {
      throw new NodeUnreachableError(this.nodeId, err);
    } finally {
      clearTimeout(timer);
      this.#abort?.removeEventListener('abort', onAbort);
    }
    if (!answer.ok) {
      const parsed = ControlError.safeParse(answer.json);
      if (
        parsed.success &&
        parsed.data.error.code !== ErrorCode.Internal &&
        parsed.data.error.code !== ErrorCode.Unauthorized
      ) {
        throw new TreffpunktError(parsed.data.error.code, parsed.data.error.message);
      }
      throw new TreffpunktError(ErrorCode.MediaNodeError, `media node ${this.nodeId} failed (${op}, ${answer.detail})`);
    }
    const parsed = spec.response.safeParse(answer.json);
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

/** A link answer as the checks above take it: the error frame's `error` in an HTTP error body's shape. */
function linkAnswer(answer: LinkCallAnswer): ControlAnswer {
  return answer.ok
    ? { ok: true, json: answer.response, detail: 'over the node link' }
    : { ok: false, json: { error: answer.error }, detail: 'over the node link' };
}
