/**
 * A scripted participant for tests and benchmarks: Node's WebSocket speaking the room protocol, every
 * server frame parsed by the shared schema (a malformed frame fails the test).
 */
import { ServerFrame, type EventName, type Method, type Params, type Result } from '../../shared/signaling.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { waitFor } from './poll.ts';

export interface ErrorReply {
  id: number | null;
  ok: false;
  error: { code: string; message: string };
}

export class SignalingClient {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (e) => this.frames.push(ServerFrame.parse(JSON.parse(String(e.data)))));
    ws.addEventListener('close', (e) => (this.closeCode = e.code));
  }

  static async connect(url: string): Promise<SignalingClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
    return new SignalingClient(ws);
  }

  /** How long a reply may take (a test of a cluster failover, where requests wait for a new owner, sets more). */
  replyTimeoutMs = 10_000;

  /** Sends any raw frame (for bad-input tests) and returns the reply with that id, or the next error. */
  async sendRaw(frame: string | Uint8Array, expectId: number | null = null): Promise<ServerFrame> {
    const seen = this.frames.length;
    this.ws.send(frame);
    return waitFor(
      'a reply',
      () => this.frames.slice(seen).find((f) => 'id' in f && f.id === expectId),
      this.replyTimeoutMs,
      10,
    );
  }

  /** A request whose reply may be an error (returned, not thrown). */
  async call<M extends Method>(
    method: M,
    params: Params<M> | Record<string, unknown>,
  ): Promise<{ ok: true; result: Result<M> } | ErrorReply> {
    const id = this.#nextId++;
    const reply = await this.sendRaw(JSON.stringify({ id, method, params }), id);
    return reply as { ok: true; result: Result<M> } | ErrorReply;
  }

  /** A request that must succeed. */
  async request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const reply = await this.call(method, params);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error.code} ${reply.error.message}`);
    return reply.result;
  }

  join(name: string) {
    return this.request('join', { protocolVersion: PROTOCOL_VERSION, name });
  }

  events(name: EventName): unknown[] {
    return this.frames.filter((f) => 'event' in f && f.event === name).map((f) => (f as { data: unknown }).data);
  }

  waitForEvent<T>(name: EventName, match: (data: T) => boolean = () => true, ms = 10_000): Promise<T> {
    return waitFor(`event ${name}`, () => this.events(name).find((d) => match(d as T)) as T | undefined, ms, 10);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      this.ws.addEventListener('close', () => r(), { once: true });
      this.ws.close();
    });
  }
}
