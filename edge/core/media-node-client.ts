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
}

const REQUEST_TIMEOUT_MS = 10_000;

export class MediaNodeClient {
  readonly nodeId: string;
  readonly #baseUrl: string;
  readonly #secret: string;

  constructor(target: MediaNodeTarget) {
    this.nodeId = target.nodeId;
    this.#baseUrl = target.controlUrl.replace(/\/+$/, '');
    this.#secret = target.secret;
  }

  /**
   * @example client.call('createTransport', `/v1/rooms/${room}/transports`, { participantId, direction: 'send' })
   */
  async call<O extends ControlOp>(op: O, path: string, body: ControlBody<O>): Promise<ControlResponse<O>> {
    const spec = control[op];
    const text = JSON.stringify(spec.body.parse(body));
    let res: Response;
    try {
      const signature = await signRequest(this.#secret, this.nodeId, { method: 'POST', path: new URL(this.#baseUrl + path).pathname, body: text });
      res = await fetch(this.#baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signature },
        body: text,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new TreffpunktError(ErrorCode.MediaNodeError, `media node ${this.nodeId} is unreachable`, { cause: err });
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
}
