/**
 * What one WebSocket costs workerd itself, with no Treffpunkt code: the floor under the Worker edge's
 * memory per participant (bench:edge-runtimes, issue 14's target of 50 KiB).
 *
 *   node test/bench/workerd-socket-floor.ts [--sockets 500]
 *
 * A minimal Worker (written to a temporary directory) accepts sockets three ways, each in a fresh workerd
 * process, on loopback:
 *   direct  the entry Worker accepts the socket itself (server.accept(), an echo listener);
 *   object  the Worker forwards the upgrade to a Durable Object, which accepts it (server.accept());
 *   hibernatable  the same through ctx.acceptWebSocket (the hibernation API, as edge/cloudflare does).
 * Each socket sends one 300-byte message and waits for the echo. Reported: (RSS after N sockets − RSS
 * with one warm socket) / N in KiB, RSS the median of 5 readings 100 ms apart, 1 s after the last socket.
 * The compatibility flag no_web_socket_compression is set as in edge/cloudflare/workerd.capnp.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { waitFor } from '../support/poll.ts';
import { machineInfo, positiveInt } from './support.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PORT = 8799;
const MODES = ['direct', 'object', 'hibernatable'] as const;
type Mode = (typeof MODES)[number];

const WORKER = `
import { DurableObject } from 'cloudflare:workers';
const echo = (ws) => { ws.accept(); ws.addEventListener('message', (e) => ws.send(e.data)); };
export class Room extends DurableObject {
  async fetch(req) {
    const pair = new WebSocketPair();
    if (new URL(req.url).searchParams.get('mode') === 'hibernatable') this.ctx.acceptWebSocket(pair[1]);
    else echo(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, m) { ws.send(m); }
}
export default {
  async fetch(req, env) {
    if (new URL(req.url).searchParams.get('mode') === 'direct') {
      const pair = new WebSocketPair();
      echo(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    return env.ROOMS.get(env.ROOMS.idFromName('room')).fetch(req);
  },
};
`;

const CONFIG = `
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${PORT}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-08-01",
  compatibilityFlags = ["no_web_socket_compression"],
  bindings = [ (name = "ROOMS", durableObjectNamespace = "Room") ],
  durableObjectNamespaces = [ (className = "Room", uniqueKey = "socket-floor") ],
  durableObjectStorage = (inMemory = void),
);
`;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

async function medianRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(rssKiB(pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  return readings.sort((a, b) => a - b)[2] as number;
}

async function open(mode: Mode): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}/?mode=${mode}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const echoed = new Promise((resolve) => ws.once('message', resolve));
  ws.send('x'.repeat(300));
  await echoed;
  return ws;
}

async function measure(dir: string, mode: Mode, sockets: number): Promise<{ before: number; after: number }> {
  const workerd: ChildProcess = spawn(join(root, 'node_modules/.bin/workerd'), ['serve', join(dir, 'config.capnp')], {
    // Its output passed through: with stdout ignored, this workerd build never started listening here.
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const clients: WebSocket[] = [];
  try {
    // The first socket also starts the isolate and (but for direct) the Durable Object: a one-time cost.
    const warm = await waitFor('workerd listening', () => open(mode), 15_000);
    clients.push(warm);
    const pid = workerd.pid as number;
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await medianRss(pid);
    for (let i = 0; i < sockets; i++) clients.push(await open(mode));
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await medianRss(pid);
    return { before, after };
  } finally {
    for (const c of clients) c.terminate();
    workerd.kill('SIGKILL');
  }
}

const { values } = parseArgs({ options: { sockets: { type: 'string', default: '500' } } });
const sockets = positiveInt('sockets', values.sockets as string, 10);
const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-socket-floor-'));
try {
  writeFileSync(join(dir, 'worker.js'), WORKER);
  writeFileSync(join(dir, 'config.capnp'), CONFIG);
  const version = spawn(join(root, 'node_modules/.bin/workerd'), ['--version'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let v = '';
  version.stdout?.on('data', (d) => (v += String(d)));
  await new Promise((r) => version.once('close', r));
  const m = machineInfo();
  console.log(`${v.trim()}, ${m.cpus} cores, ${m.node}; ${sockets} sockets per mode, a fresh workerd each\n`);
  console.log('| mode | RSS before (MiB) | RSS after (MiB) | KiB per socket |');
  console.log('|---|---:|---:|---:|');
  for (const mode of MODES) {
    const { before, after } = await measure(dir, mode, sockets);
    console.log(
      `| ${mode} | ${(before / 1024).toFixed(1)} | ${(after / 1024).toFixed(1)} | ${((after - before) / sockets).toFixed(1)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
