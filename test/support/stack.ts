/**
 * Starts a real Treffpunkt stack for a test: the Node edge and a media node as child processes (the
 * same entry points `npm start` uses), on free loopback ports, and waits until the node is registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { waitFor } from './poll.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Stack {
  edgeUrl: string;
  wsUrl(room: string): string;
  controlUrl: string;
  nodeId: string;
  secret: string;
  edge: ChildProcess;
  mediaNode: ChildProcess;
  /** Everything both processes wrote, for assertions on logs. */
  output(): string;
  stop(): Promise<void>;
}

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port with `count` consecutive free TCP+UDP ports. */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await tcpFree(p)) && (await udpFree(p));
    if (ok) return base;
  }
  throw new Error('no free port block found');
}

function spawnService(script: string, env: Record<string, string>, sink: string[]): ChildProcess {
  const child = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, TREFFPUNKT_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => sink.push(String(d)));
  child.stderr!.on('data', (d) => sink.push(String(d)));
  return child;
}

export async function startStack(opts: { workers?: number; edgeEnv?: Record<string, string> } = {}): Promise<Stack> {
  const base = await freePortBlock(4);
  const [edgePort, apiPort, rtcPort] = [base, base + 1, base + 2];
  const nodeId = 'test-node';
  const secret = randomBytes(24).toString('hex');
  const out: string[] = [];
  const edge = spawnService('edge/node/entry.ts', { TREFFPUNKT_EDGE_PORT: String(edgePort), TREFFPUNKT_NODE_SECRETS: `${nodeId}=${secret}`, ...opts.edgeEnv }, out);
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const mediaNode = spawnService('media-node/main.ts', {
    TREFFPUNKT_NODE_ID: nodeId,
    TREFFPUNKT_NODE_SECRET: secret,
    TREFFPUNKT_EDGE_URL: edgeUrl,
    TREFFPUNKT_NODE_API_PORT: String(apiPort),
    TREFFPUNKT_NODE_RTC_PORT: String(rtcPort),
    TREFFPUNKT_NODE_WORKERS: String(opts.workers ?? 1),
    TREFFPUNKT_NODE_WORKER_MIN_PORT: String(base + 100),
    TREFFPUNKT_NODE_WORKER_MAX_PORT: String(base + 199),
  }, out);
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  try {
    await waitFor('the media node to register with the edge', async () => {
      if (exited(edge) || exited(mediaNode)) throw new Error(`a service exited:\n${out.join('')}`);
      const res = await fetch(`${edgeUrl}/healthz`);
      return ((await res.json()) as { mediaNodes: number }).mediaNodes > 0;
    }, 30_000, 100);
  } catch (err) {
    edge.kill('SIGKILL');
    mediaNode.kill('SIGKILL');
    throw err;
  }
  const stopOne = (c: ChildProcess) =>
    exited(c) ? Promise.resolve() : new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
    });
  return {
    edgeUrl,
    wsUrl: (room) => `ws://127.0.0.1:${edgePort}/rooms/${room}/ws`,
    controlUrl: `http://127.0.0.1:${apiPort}`,
    nodeId,
    secret,
    edge,
    mediaNode,
    output: () => out.join(''),
    stop: async () => {
      await Promise.all([stopOne(mediaNode), stopOne(edge)]);
    },
  };
}
