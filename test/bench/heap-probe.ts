/**
 * The JavaScript heap of a Node process as it is after a full garbage collection, read over the V8
 * inspector (the process runs with `--inspect=127.0.0.1:<port>`; nothing in the product exposes this).
 * RSS counts heap the process has not collected or not given back yet, so "what a participant costs"
 * is clearer in the collected heap; the benchmark prints both.
 */
import WebSocket from 'ws';

export interface HeapReading {
  /** V8 heap in use after a full GC, KiB. */
  heapUsedKiB: number;
  /** Memory of C++ objects tied to JS objects (Buffers, sockets' native parts), KiB. */
  externalKiB: number;
}

export class HeapProbe {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (result: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg.result);
    });
  }

  /** Connects to the inspector on `port` (polling until the process has opened it). */
  static async connect(port: number, timeoutMs = 30_000): Promise<HeapProbe> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
          webSocketDebuggerUrl: string;
        }[];
        const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        return new HeapProbe(ws);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  #send(method: string, params: unknown = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full GC, then the process's own process.memoryUsage(). */
  async read(): Promise<HeapReading> {
    await this.#send('HeapProfiler.collectGarbage');
    const r = (await this.#send('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(r.result.value) as { heapUsed: number; external: number };
    return { heapUsedKiB: usage.heapUsed / 1024, externalKiB: usage.external / 1024 };
  }

  close(): void {
    this.#ws.close();
  }
}
