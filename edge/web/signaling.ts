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

export class SignalingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

type Listener<E extends EventName> = (data: EventData<E>) => void;

export class Signaling {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { method: Method; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<EventName, Set<Listener<EventName>>>();
  onclose: ((code: number) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (e) => this.#onFrame(e.data));
    ws.addEventListener('close', (e) => {
      for (const p of this.#pending.values()) p.reject(new SignalingError('CLOSED', 'connection closed'));
      this.#pending.clear();
      this.onclose?.(e.code);
    });
  }

  static open(url: string): Promise<Signaling> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener('open', () => resolve(new Signaling(ws)), { once: true });
      ws.addEventListener('error', () => reject(new SignalingError('CONNECT_FAILED', 'cannot reach the server')), { once: true });
    });
  }

  request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
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

  #onFrame(raw: unknown): void {
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
    if (frame.ok) {
      const result = methods[pending.method].result.safeParse(frame.result);
      if (result.success) pending.resolve(result.data);
      else pending.reject(new SignalingError('BAD_MESSAGE', `malformed ${pending.method} result`));
    } else {
      pending.reject(new SignalingError(frame.error.code, frame.error.message));
    }
  }
}
