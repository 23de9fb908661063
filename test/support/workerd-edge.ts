/**
 * The Worker build of the edge in real workerd, through Miniflare (the runtime wrangler dev uses): the
 * bundle from scripts/build-worker.ts, rooms and the registry as SQLite-backed Durable Objects, the
 * browser app from dist/web as the ASSETS binding. Miniflare also lets a test evict a room's Durable
 * Object (its sockets hibernate, its memory is gone) to prove the room survives a cold start.
 */
import { Miniflare, Response as MiniflareResponse, type Request as MiniflareRequest } from 'miniflare';
import { readFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { contentTypeFor } from '../../edge/core/content-types.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_NAME = 'treffpunkt-edge';

export interface WorkerdEdge {
  url: string;
  /** Evicts the Durable Object of `room`: hibernatable sockets stay open, in-memory state is gone. */
  evictRoom(room: string): Promise<void>;
  /** The workerd process Miniflare started (for memory figures). */
  pid(): number | undefined;
  close(): Promise<void>;
}

export async function startWorkerdEdge(opts: {
  port: number;
  bindings: Record<string, string>;
  log?: (line: string) => void;
}): Promise<WorkerdEdge> {
  const mf = new Miniflare({
    name: WORKER_NAME,
    host: '127.0.0.1',
    port: opts.port,
    modules: true,
    scriptPath: `${root}dist/worker/worker.js`,
    compatibilityDate: '2026-08-01',
    compatibilityFlags: ['no_web_socket_compression'], // as wrangler.toml and workerd.capnp
    durableObjects: {
      ROOMS: { className: 'RoomObject', useSQLite: true },
      REGISTRY: { className: 'NodeRegistryObject', useSQLite: true },
    },
    bindings: opts.bindings,
    serviceBindings: {
      ASSETS: async (request: MiniflareRequest) => {
        const path = new URL(request.url).pathname;
        if (path.includes('..')) return new MiniflareResponse(null, { status: 404 });
        try {
          return new MiniflareResponse(await readFile(`${root}dist/web${path}`), {
            headers: { 'content-type': contentTypeFor(path) },
          });
        } catch {
          return new MiniflareResponse(null, { status: 404 });
        }
      },
    },
    handleStructuredLogs: ({ message }: { message: string }) => {
      opts.log?.(`${message}\n`);
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return {
    url,
    evictRoom: (room) =>
      mf.unsafeEvictDurableObject(WORKER_NAME, 'RoomObject', { name: room, webSockets: 'hibernate' }),
    pid: () => workerdChildPid(),
    close: () => mf.dispose(),
  };
}

/** Miniflare runs workerd as a child of this process. */
function workerdChildPid(): number | undefined {
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const child of children) {
      try {
        if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('workerd')) return Number(child);
      } catch {
        // exited meanwhile
      }
    }
  }
  return undefined;
}
