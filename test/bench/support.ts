/**
 * Helpers shared by the benchmarks: a watchdog runner (runBenchmark), an event-driven timing client for the room
 * WebSocket protocol, nearest-rank percentiles, RSS from /proc, table formatting and flag parsing.
 *
 * Timed requests use BenchClient, not test/support/signaling-client.ts, whose replies are found by polling
 * every 10 ms (fine for tests, too coarse for millisecond figures).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Method, Params, Result } from '../../shared/signaling.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import type { Stack } from '../support/stack.ts';

export const REQUEST_TIMEOUT_MS = 30_000;

export function positiveInt(name: string, s: string, min: number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${s}"`);
  return n;
}

export function machineInfo() {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? '',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// A minimal timed client: replies resolve on the message event itself.

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

let participantNo = 0;

export class BenchClient {
  readonly ws: WebSocket;
  /** performance.now() when `new WebSocket` was called and when the socket opened. */
  readonly createdAt: number;
  readonly openedAt: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closed: Promise<void>;

  private constructor(ws: WebSocket, createdAt: number, openedAt: number) {
    this.ws = ws;
    this.createdAt = createdAt;
    this.openedAt = openedAt;
    ws.addEventListener('message', (e) => this.#onMessage(String(e.data)));
    this.#closed = new Promise((resolve) =>
      ws.addEventListener(
        'close',
        () => {
          for (const p of this.#pending.values()) {
            clearTimeout(p.timer);
            p.reject(new Error('socket closed before the reply'));
          }
          this.#pending.clear();
          resolve();
        },
        { once: true },
      ),
    );
  }

  static open(url: string): Promise<BenchClient> {
    const createdAt = performance.now();
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new BenchClient(ws, createdAt, performance.now())), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  #onMessage(text: string): void {
    const frame = JSON.parse(text) as {
      id?: number | null;
      ok?: boolean;
      result?: unknown;
      error?: { code: string; message: string };
    };
    if (typeof frame.id !== 'number') {
      // A notification, or an error without id (e.g. RATE_LIMITED): the latter fails every pending request
      // at once instead of leaving it to the timeout.
      if (frame.ok === false) {
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`${frame.error?.code}: ${frame.error?.message}`));
        }
        this.#pending.clear();
      }
      return;
    }
    const p = this.#pending.get(frame.id);
    if (!p) return;
    this.#pending.delete(frame.id);
    clearTimeout(p.timer);
    if (frame.ok) p.resolve(frame.result);
    else p.reject(new Error(`${frame.error?.code}: ${frame.error?.message}`));
  }

  request<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const id = this.#nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method} timed out after ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** `media`: transports to make with the join (JoinMedia). */
  join(media?: Params<'join'>['media']): Promise<Result<'join'>> {
    return this.request('join', {
      protocolVersion: PROTOCOL_VERSION,
      name: `bench-${++participantNo}`,
      ...(media ? { media } : {}),
    });
  }

  /** `leave` (the edge answers, then closes the socket) and wait for the close. */
  async leave(): Promise<void> {
    await this.request('leave', {});
    await this.#closed;
  }

  close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.#closed;
  }
}

export interface JoinSample {
  /** new WebSocket → open (the HTTP upgrade; not part of the join figure). */
  connect: number;
  /** open → join reply. */
  joined: number;
}

/** Opens a socket and joins: the join figure is WebSocket `open` → `join` reply. */
export async function joinFlow(url: string): Promise<{ client: BenchClient; sample: JoinSample }> {
  const client = await BenchClient.open(url);
  await client.join();
  const t = performance.now();
  return { client, sample: { connect: client.openedAt - client.createdAt, joined: t - client.openedAt } };
}

/** One `ping` round trip on an open socket, in ms. */
export async function pingOnce(client: BenchClient): Promise<number> {
  const t = performance.now();
  await client.request('ping', {});
  return performance.now() - t;
}

// ---------------------------------------------------------------------------------------------------
// Statistics.

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (no interpolation): p99 of 50 samples is the largest one. */
export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
    min: r(s[0]!),
    p50: r(rank(50)),
    p95: r(rank(95)),
    p99: r(rank(99)),
    max: r(s[s.length - 1]!),
  };
}

// ---------------------------------------------------------------------------------------------------
// RSS from /proc.

export function vmRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process is gone
  }
}

export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
        if (c) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------
// Output.

export const pad = (s: string, n: number) => s.padEnd(n);
export const lpad = (s: string, n: number) => s.padStart(n);
export const fmt = (x: number) => x.toFixed(2);

export function latencyTable(rows: [string, Summary][]): string {
  const cols = ['n', 'p50', 'p95', 'p99', 'mean', 'min', 'max'] as const;
  const w = Math.max(...rows.map(([l]) => l.length), 10);
  const head = `${pad('ms', w)}  ${cols.map((c) => lpad(c, 8)).join('')}`;
  const lines = rows.map(
    ([label, s]) => `${pad(label, w)}  ${cols.map((c) => lpad(c === 'n' ? String(s.n) : fmt(s[c]), 8)).join('')}`,
  );
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

/**
 * Runs a benchmark's `main` and exits with its outcome. The watchdog, Ctrl-C and SIGTERM kill the processes
 * of the stack that is running at that moment (`activeStack()`), so that no edge or media node is left behind.
 */
export function runBenchmark(
  name: string,
  watchdogMs: number,
  activeStack: () => Stack | undefined,
  main: () => Promise<void>,
): void {
  const abort = (why: string): void => {
    process.stderr.write(`${name} benchmark: ${why}\n`);
    const stack = activeStack();
    for (const n of stack?.mediaNodes ?? []) n.process.kill('SIGKILL');
    const edgePid = stack?.edgePid();
    if (edgePid) process.kill(edgePid, 'SIGKILL');
    process.exit(1);
  };
  setTimeout(() => abort(`gave up after ${watchdogMs / 1000} s`), watchdogMs).unref();
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${name} benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
