/**
 * The web app's requests have a bound (edge/web/meeting/connection.ts): one unanswered within
 * REQUEST_TIMEOUT_MS fails with TIMEOUT instead of hanging, and one answered REPLY_LOST (applied, its
 * answer lost when the room moved to another edge of a cluster) fails with that code; either way the app
 * gives the socket up and resumes on a new one, and an idempotent request is sent again after the resume.
 * A fake WebSocket and Node's mock timers: no browser, no network, no waiting.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { JoinResult } from '../../shared/signaling.ts';
import { Connection, type ConnectionHooks } from '../../edge/web/meeting/connection.ts';
import { REQUEST_TIMEOUT_MS, Signaling, SignalingError } from '../../edge/web/signaling.ts';

type Listener = (e: { data?: unknown; code?: number }) => void;

/** What the app uses of a browser WebSocket; opens on the next microtask, records what is sent. */
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  static all: FakeWebSocket[] = [];
  readyState = FakeWebSocket.CONNECTING;
  readonly sent: { id: number; method: string; params: unknown }[] = [];
  closedWith: number | undefined;
  readonly #listeners = new Map<string, Set<Listener>>();

  readonly url: string;

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.all.push(this);
    queueMicrotask(() => {
      this.readyState = FakeWebSocket.OPEN;
      this.#emit('open', {});
    });
  }

  addEventListener(type: string, listener: Listener, opts?: { once?: boolean }): void {
    const wrapped: Listener = opts?.once
      ? (e) => {
          this.removeEventListener(type, wrapped);
          listener(e);
        }
      : listener;
    (wrapped as { original?: Listener }).original = listener;
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type)!.add(wrapped);
  }

  removeEventListener(type: string, listener: Listener): void {
    for (const l of this.#listeners.get(type) ?? [])
      if (l === listener || (l as { original?: Listener }).original === listener) this.#listeners.get(type)!.delete(l);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.closedWith = code;
    this.#emit('close', { code });
  }

  /** The edge answers the last request of `method`. */
  answer(method: string, reply: { result: unknown } | { error: { code: string; message: string } }): void {
    const request = this.sent.findLast((r) => r.method === method);
    assert.ok(request, `a ${method} request was sent`);
    const frame = 'result' in reply ? { id: request.id, ok: true, ...reply } : { id: request.id, ok: false, ...reply };
    this.#emit('message', { data: JSON.stringify(frame) });
  }

  #emit(type: string, e: { data?: unknown; code?: number }): void {
    for (const l of [...(this.#listeners.get(type) ?? [])]) l(e);
  }
}

const joined = (participantId: string): JoinResult =>
  JoinResult.parse({
    protocolVersion: 1,
    participantId,
    resumeToken: 'resume-token',
    role: 'participant',
    locked: false,
    routerRtpCapabilities: { codecs: [], headerExtensions: [] },
    participants: [],
  });

/** Lets promise callbacks and microtasks (a socket opening) run. */
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

const realWebSocket = globalThis.WebSocket;

beforeEach(() => {
  FakeWebSocket.all = [];
  (globalThis as { WebSocket: unknown }).WebSocket = FakeWebSocket;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
});
afterEach(() => {
  mock.timers.reset();
  (globalThis as { WebSocket: unknown }).WebSocket = realWebSocket;
});

/** A joined connection on a fake socket, and what its hooks saw. */
async function connected() {
  const opening = Signaling.open('ws://edge.invalid/rooms/r/ws');
  await flush();
  const s = await opening;
  const id = randomUUID();
  const seen: string[] = [];
  const hooks: ConnectionHooks = {
    listen: () => {},
    resumed: () => seen.push('resumed'),
    rejoin: () => Promise.reject(new Error('not in this test')),
    rejoined: () => seen.push('rejoined'),
    state: (state) => seen.push(state),
    ended: (code) => seen.push(`ended ${code}`),
  };
  const conn = new Connection(['ws://edge.invalid/rooms/r/ws'], s, joined(id), hooks);
  return { conn, id, seen, first: FakeWebSocket.all[0]! };
}

/** The connection reconnects (after its first backoff) and the edge answers the resume. */
async function resumeOnNewSocket(id: string): Promise<FakeWebSocket> {
  mock.timers.tick(250);
  await flush();
  const next = FakeWebSocket.all.at(-1)!;
  assert.equal(next.sent[0]?.method, 'resume', 'a resume on the new socket');
  next.answer('resume', { result: joined(id) });
  await flush();
  return next;
}

test('a request unanswered within REQUEST_TIMEOUT_MS fails with TIMEOUT, and the app resumes on a new socket', {
  timeout: 5_000,
}, async () => {
  const { conn, id, seen, first } = await connected();
  const chat = conn.request('chat', { text: 'hello' });
  const failed = assert.rejects(chat, (err: unknown) => err instanceof SignalingError && err.code === 'TIMEOUT');
  mock.timers.tick(REQUEST_TIMEOUT_MS - 1);
  await flush();
  assert.equal(first.readyState, FakeWebSocket.OPEN, 'still waiting just before the timeout');
  mock.timers.tick(1);
  await failed;
  assert.equal(first.readyState, FakeWebSocket.CLOSED, 'the socket is given up');
  await resumeOnNewSocket(id);
  assert.deepEqual(seen, ['reconnecting', 'resumed', 'connected']);
  assert.equal(conn.resumes, 1);
  conn.close();
});

test('an idempotent request that timed out is sent again after the resume, and answered there', {
  timeout: 5_000,
}, async () => {
  const { conn, id, first } = await connected();
  const hand = conn.request('setHand', { raised: true });
  mock.timers.tick(REQUEST_TIMEOUT_MS);
  await flush();
  assert.equal(first.readyState, FakeWebSocket.CLOSED);
  const next = await resumeOnNewSocket(id);
  assert.equal(next.sent.filter((r) => r.method === 'setHand').length, 1, 'setHand sent again once');
  next.answer('setHand', { result: {} });
  assert.deepEqual(await hand, {});
  conn.close();
});

test('REPLY_LOST fails the request with that code and the app resumes (the resume shows what it did)', {
  timeout: 5_000,
}, async () => {
  const { conn, id, seen, first } = await connected();
  const produce = conn.request('closeProducer', { producerId: randomUUID() });
  first.answer('closeProducer', { error: { code: 'REPLY_LOST', message: 'the room moved' } });
  await assert.rejects(produce, (err: unknown) => err instanceof SignalingError && err.code === 'REPLY_LOST');
  assert.equal(first.closedWith, 4900, 'the socket is given up as a network loss would be');
  await resumeOnNewSocket(id);
  assert.deepEqual(seen, ['reconnecting', 'resumed', 'connected']);
  conn.close();
});

test('a request answered in time is not affected by the bound', { timeout: 5_000 }, async () => {
  const { conn, first } = await connected();
  const chat = conn.request('chat', { text: 'hello' });
  mock.timers.tick(REQUEST_TIMEOUT_MS - 1);
  first.answer('chat', { result: { time: 1 } });
  assert.deepEqual(await chat, { time: 1 });
  mock.timers.tick(REQUEST_TIMEOUT_MS);
  await flush();
  assert.equal(first.readyState, FakeWebSocket.OPEN);
  conn.close();
});
