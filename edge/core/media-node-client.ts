/**
 * Calls a media node's control API with `fetch` (available on every runtime). Every request is signed
 * with the node's secret (shared/request-signing.ts). Bodies are checked against the shared control
 * schemas before sending and responses are parsed before use: the node is another trust domain,
 * possibly another operator.
 */
import { control, ControlError, type ControlBody, type ControlOp, type ControlResponse } from '../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { signRequest } from '../../shared/request-signing.ts';

export interface MediaNodeTarget {
  nodeId: string;
  controlUrl: string;
  secret: string;
  /** Aborts the call early: the room found the node lost while the call hung (a frozen node). */
  abort?: AbortSignal;
}

/** mediasoup answers in milliseconds; a node that takes seconds is as good as gone. */
const REQUEST_TIMEOUT_MS = 5_000;

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

  constructor(target: MediaNodeTarget) {
    this.nodeId = target.nodeId;
    this.#baseUrl = target.controlUrl.replace(/\/+$/, '');
    this.#secret = target.secret;
    this.#abort = target.abort;
  }

  /**
   * @example client.call('createTransport', `/v1/rooms/${room}/transports`, { participantId, direction: 'send' })
   */
  async call<O extends ControlOp>(op: O, path: string, body: ControlBody<O>): Promise<ControlResponse<O>> {
    const spec = control[op];
    const text = JSON.stringify(spec.body.parse(body));
    let res: Response;
    // The timeout or the room's abort, whichever comes first (by hand: not every runtime has AbortSignal.any).
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error('timed out')), REQUEST_TIMEOUT_MS);
    const onAbort = () => stop.abort(new Error('the node was found lost'));
    this.#abort?.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.#abort?.aborted) throw new Error('the node was found lost');
      const signature = await signRequest(this.#secret, this.nodeId, { method: 'POST', path: new URL(this.#baseUrl + path).pathname, body: text });
      res = await fetch(this.#baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signature },
        body: text,
        signal: stop.signal,
      });
    } catch (err) {
      throw new NodeUnreachableError(this.nodeId, err);
    } finally {
      clearTimeout(timer);
      this.#abort?.removeEventListener('abort', onAbort);
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = ControlError.safeParse(json);
      if (parsed.success && parsed.data.error.code !== ErrorCode.Internal && parsed.data.error.code !== ErrorCode.Unauthorized) {
        throw new TreffpunktError(parsed.data.error.code, parsed.data.error.message);
      }
      throw new TreffpunktError(ErrorCode.MediaNodeError, `media node ${this.nodeId} failed (${op}, HTTP ${res.status})`);
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
