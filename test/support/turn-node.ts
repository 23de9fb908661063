/**
 * A real media node process (media-node/main.ts, real mediasoup worker) with its TURN service, registered
 * with a stand-in edge: a small HTTP server that checks the registration against the shared schema and
 * keeps it, so tests see exactly the TURN URLs and secret the real edge would learn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeRegistration } from '../../shared/control.ts';
import { waitFor } from './poll.ts';
import { freePortBlock } from './stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface TurnNode {
  process: ChildProcess;
  registration: NodeRegistration;
  turn: NonNullable<NodeRegistration['turn']>;
  /** The TURN port from the first URL. */
  turnPort: number;
  relayPorts: [number, number];
  controlUrl: string;
  output(): string;
  alive(): boolean;
  /** pid of the process that does the relaying: the node itself (embedded) or its turnserver child. */
  turnPid(): number | undefined;
  stop(): Promise<void>;
}

export interface TurnNodeOptions {
  mode: 'embedded' | 'coturn';
  allowLoopbackPeers?: boolean;
  env?: Record<string, string>;
  relayPorts?: number;
}

async function fakeEdge(onRegister: (r: NodeRegistration) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/api/nodes/register') {
        const parsed = NodeRegistration.safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) {
          res.writeHead(400).end(JSON.stringify({ error: parsed.error.message }));
          return;
        }
        onRegister(parsed.data);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: true, heartbeatIntervalMs: 60_000 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

export async function startTurnNode(opts: TurnNodeOptions): Promise<TurnNode> {
  const relayCount = opts.relayPorts ?? 200;
  // One block for the node's ports and its relay range, so that the two cannot overlap.
  const base = await freePortBlock(4 + relayCount);
  const relayBase = base + 4;
  let registration: NodeRegistration | undefined;
  const edge = await fakeEdge((r) => (registration = r));
  const out: string[] = [];
  const child = spawn(process.execPath, ['media-node/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TREFFPUNKT_LOG_LEVEL: 'info',
      TREFFPUNKT_NODE_ID: 'turn-test',
      TREFFPUNKT_NODE_SECRET: randomBytes(24).toString('hex'),
      TREFFPUNKT_EDGE_URL: edge.url,
      TREFFPUNKT_NODE_API_PORT: String(base),
      TREFFPUNKT_NODE_RTC_PORT: String(base + 1),
      TREFFPUNKT_NODE_WORKERS: '1',
      TREFFPUNKT_NODE_WORKER_MIN_PORT: String(relayBase + relayCount + 100),
      TREFFPUNKT_NODE_WORKER_MAX_PORT: String(relayBase + relayCount + 199),
      TREFFPUNKT_TURN_MODE: opts.mode,
      TREFFPUNKT_TURN_PORT: String(base + 2),
      // coturn's TLS listener on a free port of the block (its default 443 must not be bound on a test host),
      // with the self-signed pair the node makes.
      TREFFPUNKT_TURN_TLS_PORT: String(base + 3),
      TREFFPUNKT_TURN_MIN_PORT: String(relayBase),
      TREFFPUNKT_TURN_MAX_PORT: String(relayBase + relayCount - 1),
      TREFFPUNKT_TURN_TOTAL_QUOTA: String(Math.min(100, relayCount)),
      TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS: String(opts.allowLoopbackPeers ?? false),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => out.push(String(d)));
  child.stderr!.on('data', (d) => out.push(String(d)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    await waitFor(
      'the media node to register with TURN',
      () => {
        if (!alive()) throw new Error(`media node exited:\n${out.join('')}`);
        return registration?.turn !== undefined;
      },
      30_000,
      50,
    );
  } catch (err) {
    child.kill('SIGKILL');
    edge.server.close();
    throw err;
  }
  const turn = registration!.turn!;
  return {
    process: child,
    registration: registration!,
    turn,
    turnPort: Number(/:(\d+)\?/.exec(turn.urls[0]!)![1]),
    relayPorts: [relayBase, relayBase + relayCount - 1],
    controlUrl: `http://127.0.0.1:${base}`,
    output: () => out.join(''),
    alive,
    turnPid: () => (opts.mode === 'embedded' ? child.pid : childByName(child.pid!, 'turnserver')),
    stop: async () => {
      if (alive()) {
        await new Promise<void>((r) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), 8_000);
          child.once('exit', () => {
            clearTimeout(kill);
            r();
          });
          child.kill('SIGTERM');
        });
      }
      edge.server.close();
    },
  };
}

/** The pid of a direct child process with this command name (Linux /proc). */
export function childByName(pid: number, name: string): number | undefined {
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const c of children) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === name) return c;
      } catch {
        // gone
      }
    }
  }
  return undefined;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** A UDP peer on loopback that records what it gets and answers each datagram with "echo:" + it. */
export async function echoPeer(): Promise<{ socket: Socket; port: number; got: Buffer[] }> {
  const socket = createSocket('udp4');
  const got: Buffer[] = [];
  socket.on('message', (m, r) => {
    got.push(m);
    socket.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, got };
}
