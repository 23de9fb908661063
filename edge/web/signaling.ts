/**
 * The browser's side of the room WebSocket: numbered requests with promised results, and events. Every
 * frame from the edge is parsed by the shared schemas before the app sees it.
 */
import {
  events,
  methods,
  ServerFrame,
  type EventData,
  type EventName,
  type Method,
  type Params,
  type Result,
} from '../../shared/signaling.ts';
import { ErrorCode } from '../../shared/errors.ts';

/**
 * Codes the page makes up itself, for what never reaches the edge (a socket that closed, an answer
 * that did not come). They sit beside the edge's ErrorCode in SignalingError.code, so they must not
 * reuse one of its values; the pre-join screen words them in i18n.ts `joinErrors`.
 */
export const ClientErrorCode = {
  /** The socket closed (or the meeting ended) before the answer came. */
  Closed: 'CLOSED',
  /** No answer within the request's timeout. */
  Timeout: 'TIMEOUT',
  /** The socket could not be opened. */
  ConnectFailed: 'CONNECT_FAILED',
  /** Waiting in the lobby ended with a moderator's refusal. */
  NotAdmitted: 'NOT_ADMITTED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class SignalingError extends Error {
  /** The edge's code (ErrorCode) for a refused request, else the page's own (ClientErrorCode). */
  readonly code: ErrorCode | ClientErrorCode;
  constructor(code: ErrorCode | ClientErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

type Listener<E extends EventName> = (data: EventData<E>) => void;

/**
 * How long the app waits for the answer to a request (join and every request in the meeting; ping,
 * resume and leave have shorter bounds of their own). Generous: in an edge cluster a NATS failover makes
 * requests wait for the room's next owner, 10-12 s on a loaded machine (docs/edge-cluster.md), and a
 * save may wait up to 8 s more. An answer that does not come by then got lost: the socket is given up
 * (meeting/connection.ts resumes).
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The close code reported for a socket we gave up on ourselves (drop()): "abnormal closure", as a network loss. */
export const DROPPED = 1006;

export class Signaling {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { method: Method; resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> }
  >();
  readonly #listeners = new Map<EventName, Set<Listener<EventName>>>();
  /** Closed, or given up (drop): no frame is delivered and onclose has fired (once). */
  #dead = false;
  onclose: ((code: number) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (e) => this.#onFrame(e.data));
    ws.addEventListener('close', (e) => this.#closed(e.code));
  }

  /** Opens the socket; fails with CONNECT_FAILED when it errors, closes before opening or takes over `timeoutMs`. */
  static open(url: string, timeoutMs = 10_000): Promise<Signaling> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const fail = () => {
        clearTimeout(timer);
        ws.removeEventListener('open', opened);
        ws.close();
        reject(new SignalingError(ClientErrorCode.ConnectFailed, 'cannot reach the server'));
      };
      const opened = () => {
        clearTimeout(timer);
        ws.removeEventListener('error', fail);
        ws.removeEventListener('close', fail);
        resolve(new Signaling(ws));
      };
      const timer = setTimeout(fail, timeoutMs);
      ws.addEventListener('open', opened, { once: true });
      ws.addEventListener('error', fail, { once: true });
      ws.addEventListener('close', fail, { once: true });
    });
  }

  get open(): boolean {
    return !this.#dead && this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request. Fails at once with CLOSED when the socket is not open (a browser would silently
   * drop the frame), and with TIMEOUT after `timeoutMs` if given.
   */
  request<M extends Method>(method: M, params: Params<M>, timeoutMs?: number): Promise<Result<M>> {
    if (!this.open) return Promise.reject(new SignalingError(ClientErrorCode.Closed, 'connection closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry: {
        method: Method;
        resolve: (v: unknown) => void;
        reject: (e: Error) => void;
        timer?: ReturnType<typeof setTimeout>;
      } = { method, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.#pending.delete(id);
          reject(new SignalingError(ClientErrorCode.Timeout, `${method}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#pending.set(id, entry);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on<E extends EventName>(event: E, listener: Listener<E>): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<EventName>);
  }

  close(): void {
    this.#ws.close(1000);
  }

  /**
   * Gives the socket up as a network loss would: onclose(DROPPED) fires now, not after a closing
   * handshake that may never finish on a dead connection. The server sees the socket close and keeps the
   * participant for its grace period, so the app can `resume` on a new socket.
   */
  drop(): void {
    // 4000-4999 is the application range; this code is only for the server's log, we report DROPPED.
    this.#ws.close(4900, 'dropped by the client');
    this.#closed(DROPPED);
  }

  #closed(code: number): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SignalingError(ClientErrorCode.Closed, 'connection closed'));
    }
    this.#pending.clear();
    this.onclose?.(code);
  }

  #onFrame(raw: unknown): void {
    if (this.#dead) return;
    let frame: ServerFrame;
    try {
      frame = ServerFrame.parse(JSON.parse(String(raw)));
    } catch {
      console.warn('treffpunkt: ignored a malformed frame from the server');
      return;
    }
    if ('event' in frame) {
      const data = events[frame.event].safeParse(frame.data);
      if (!data.success) return console.warn(`treffpunkt: ignored a malformed ${frame.event} event`);
      for (const l of this.#listeners.get(frame.event) ?? []) l(data.data);
      return;
    }
    const pending = frame.id === null ? undefined : this.#pending.get(frame.id);
    if (!pending) return;
    this.#pending.delete(frame.id!);
    clearTimeout(pending.timer);
    if (frame.ok) {
      const result = methods[pending.method].result.safeParse(frame.result);
      if (result.success) pending.resolve(result.data);
      else pending.reject(new SignalingError(ErrorCode.BadMessage, `malformed ${pending.method} result`));
    } else {
      pending.reject(new SignalingError(frame.error.code, frame.error.message));
    }
  }
}
