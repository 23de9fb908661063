/**
 * Starts a real Treffpunkt stack for a test: an edge and a media node on free loopback ports, and waits
 * until the node is registered. The edge runs on the runtime asked for: `node` (edge/node/entry.ts as a
 * child process, the entry point `npm start` uses) or `workerd` (the Worker build with Durable Objects in
 * real workerd, see workerd-edge.ts). The media node is always its real command (media-node/main.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './poll.ts';
import { signedFetch } from '../../shared/signed-fetch.ts';
import { startWorkerdEdge, type WorkerdEdge } from './workerd-edge.ts';
import { startNatsServer } from './nats-cluster.ts';
import { startRegistrationFanout, type RegistrationFanout } from './registration-fanout.ts';

/**
 * `node`: the Node edge. `workerd`: the Worker in workerd through Miniflare (can evict Durable Objects).
 * `workerd-selfhosted`: the Worker under the plain workerd binary with edge/cloudflare/workerd.capnp,
 * exactly as an operator runs it (npm run edge:workerd).
 * `cluster`: an edge cluster (issue 12, docs/edge-cluster.md): one nats-server with JetStream and two
 * Node edges. A room's first socket lands on the first edge, which becomes its owner; every later socket
 * of the room on the second, so that the scenario runs through relaying (`wsUrl`).
 */
export type EdgeRuntime = 'node' | 'workerd' | 'workerd-selfhosted' | 'cluster';
export const EDGE_RUNTIMES: readonly EdgeRuntime[] = ['node', 'workerd'];
/** The runtimes of the scenarios that also run on the edge cluster (meeting, resume, ...). */
export const EDGE_RUNTIMES_WITH_CLUSTER: readonly EdgeRuntime[] = [...EDGE_RUNTIMES, 'cluster'];

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One media node of a stack (a real media-node/main.ts process). */
export interface StackNode {
  nodeId: string;
  secret: string;
  controlUrl: string;
  process: ChildProcess;
  alive(): boolean;
  /** A request to this node's control API, signed as the edge signs it. */
  controlFetch(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
}

/** What a test asks of one media node; ids must be distinct. */
export interface NodeSpec {
  nodeId: string;
  operator?: string;
  region?: string;
  jurisdiction?: string;
  env?: Record<string, string>;
}

/**
 * A node the edge has credentials for but the stack does not start: a test registers it itself (a fake
 * control server, or forged registrations). With any pinned field the edge gets the JSON form of
 * TREFFPUNKT_NODE_SECRETS.
 */
export interface ExtraNode {
  nodeId: string;
  secret: string;
  operator?: string;
  jurisdiction?: string;
  controlOrigin?: string;
}

export interface Stack {
  runtime: EdgeRuntime;
  /** Every media node, in the order asked for; the fields below name the first. */
  mediaNodes: StackNode[];
  edgeUrl: string;
  wsUrl(room: string): string;
  controlUrl: string;
  nodeId: string;
  secret: string;
  /** The process that runs the edge (the Node edge, or workerd). */
  edgePid(): number | undefined;
  edgeAlive(): boolean;
  /**
   * Node edge only: stops the edge process with `signal` (SIGKILL: a crash; SIGTERM: a clean stop) and
   * resolves with how it exited. The media nodes keep running.
   */
  stopEdge(signal: 'SIGKILL' | 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Node edge only: starts the edge again, on the same port with the same settings and state file. */
  startEdge(): Promise<void>;
  /** workerd only: evict the room's Durable Object (hibernate its sockets, drop its memory). */
  evictRoom(room: string): Promise<void>;
  mediaNode: ChildProcess;
  /** A request to the media node's control API, signed as the edge signs it. */
  controlFetch(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  /** A request to the edge's node API (/api/nodes/...), signed as the media node signs it. */
  nodeFetch(path: string, body: unknown): Promise<Response>;
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

/**
 * Below Linux's ephemeral range (ip_local_port_range, 32768–60999 by default): a port checked free there
 * can be taken by any outgoing connection (a test's WebSocket, a NATS client) before the service listens
 * on it. A CI run failed so (EADDRINUSE for a media node's port 35446).
 */
const EPHEMERAL_FROM = 32_768;
const BLOCKS_FROM = 15_000;

/** A base port with `count` consecutive free TCP+UDP ports. */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = BLOCKS_FROM + Math.floor(Math.random() * (EPHEMERAL_FROM - BLOCKS_FROM - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await tcpFree(p)) && (await udpFree(p));
    if (ok) return base;
  }
  throw new Error('no free port block found');
}

function spawnService(script: string, env: Record<string, string>, sink: string[]): ChildProcess {
  return spawnProgram(process.execPath, [script], env, sink);
}

function spawnProgram(program: string, args: string[], env: Record<string, string>, sink: string[]): ChildProcess {
  const child = spawn(program, args, {
    cwd: root,
    env: { ...process.env, TREFFPUNKT_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => sink.push(String(d)));
  child.stderr!.on('data', (d) => sink.push(String(d)));
  return child;
}

/** Signed requests to a media node's control API (shared/signed-fetch.ts): a GET without a body. */
const controlFetcher =
  (secret: string, nodeId: string, url: string) =>
  (path: string, init: { method?: string; body?: unknown } = {}) =>
    signedFetch(
      { baseUrl: url, nodeId, secret },
      {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        path,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      },
    );

/**
 * `nodes`: several media nodes (separate processes, own ports and ids; the edge knows all their secrets)
 * — by default one, "test-node". The stack is up when all of them have registered.
 */
export async function startStack(
  opts: {
    runtime?: EdgeRuntime;
    workers?: number;
    edgeEnv?: Record<string, string>;
    mediaNodeEnv?: Record<string, string>;
    nodes?: NodeSpec[];
    extraNodes?: ExtraNode[];
    /** The edge's port (default: a free one); e.g. 443 inside a test's network namespace (locked-network.test.ts). */
    edgePort?: number;
    /** The media nodes' TREFFPUNKT_EDGE_URL from the stack's edge URL (default: just that one). */
    nodeEdgeUrl?: (edgeUrl: string) => string;
  } = {},
): Promise<Stack> {
  const runtime = opts.runtime ?? 'node';
  const specs = opts.nodes ?? [{ nodeId: 'test-node' }];
  const base = await freePortBlock(1 + 3 * specs.length);
  const edgePort = opts.edgePort ?? base;
  const secrets = specs.map(() => randomBytes(24).toString('hex'));
  const out: string[] = [];
  const extra = opts.extraNodes ?? [];
  const nodeSecrets = extra.some((n) => n.operator ?? n.jurisdiction ?? n.controlOrigin)
    ? JSON.stringify(
        Object.fromEntries([
          ...specs.map((n, i) => [n.nodeId, { secret: secrets[i] }]),
          ...extra.map(({ nodeId, ...rest }) => [nodeId, rest]),
        ]),
      )
    : [...specs.map((n, i) => `${n.nodeId}=${secrets[i]}`), ...extra.map((n) => `${n.nodeId}=${n.secret}`)].join(',');
  // Tests open many sockets from one address; the per-address limits have their own tests (limits.test.ts).
  const edgeEnv = {
    TREFFPUNKT_CONNECTIONS_PER_MINUTE: '100000',
    TREFFPUNKT_SOCKETS_PER_ADDRESS: '100000',
    ...opts.edgeEnv,
  };
  let edge: ChildProcess | undefined;
  let worker: WorkerdEdge | undefined;
  let storageDir: string | undefined;
  let nodeEdgeEnv: Record<string, string> | undefined;
  let nats: Awaited<ReturnType<typeof startNatsServer>> | undefined;
  let cluster: { edgePorts: number[]; edges: ChildProcess[]; proxyPort: number } | undefined;
  let fanout: RegistrationFanout | undefined;
  if (runtime === 'node') {
    // Every edge its own state file (parallel tests must never share one), gone with the stack.
    storageDir = await mkdtemp(join(tmpdir(), 'treffpunkt-edge-'));
    nodeEdgeEnv = {
      TREFFPUNKT_EDGE_PORT: String(edgePort),
      TREFFPUNKT_NODE_SECRETS: nodeSecrets,
      TREFFPUNKT_STATE_FILE: join(storageDir, 'edge-state.sqlite'),
      ...edgeEnv,
    };
    edge = spawnService('edge/node/entry.ts', nodeEdgeEnv, out);
  } else if (runtime === 'cluster') {
    nats = await startNatsServer();
    const ports = await freePortBlock(2);
    cluster = { edgePorts: [edgePort, ports], edges: [], proxyPort: ports + 1 };
    for (const [i, port] of cluster.edgePorts.entries())
      cluster.edges.push(
        spawnService(
          'edge/node/entry.ts',
          {
            TREFFPUNKT_EDGE_PORT: String(port),
            TREFFPUNKT_NODE_SECRETS: nodeSecrets,
            TREFFPUNKT_NATS_URL: nats.url,
            TREFFPUNKT_EDGE_ID: `c${i + 1}`,
            ...edgeEnv,
          },
          out,
        ),
      );
    const c = cluster;
    // TEMPORARY (registration-fanout.ts): each media node registered with every edge.
    fanout = await startRegistrationFanout(c.proxyPort, () => c.edgePorts.map((p) => `http://127.0.0.1:${p}`));
  } else if (runtime === 'workerd-selfhosted') {
    storageDir = await mkdtemp(join(tmpdir(), 'treffpunkt-do-'));
    edge = spawnProgram(
      `${root}node_modules/workerd/bin/workerd`,
      [
        'serve',
        'edge/cloudflare/workerd.capnp',
        `--socket-addr=http=127.0.0.1:${edgePort}`,
        `--directory-path=do-storage=${storageDir}`,
      ],
      { TREFFPUNKT_NODE_SECRETS: nodeSecrets, ...edgeEnv },
      out,
    );
  } else {
    worker = await startWorkerdEdge({
      port: edgePort,
      bindings: { TREFFPUNKT_NODE_SECRETS: nodeSecrets, ...edgeEnv },
      log: (line) => void out.push(line),
    });
  }
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  const nodes: StackNode[] = specs.map((spec, i) => {
    const apiPort = base + 1 + 3 * i;
    const workerPorts = base + 100 + 100 * i;
    const process = spawnService(
      'media-node/main.ts',
      {
        TREFFPUNKT_NODE_ID: spec.nodeId,
        TREFFPUNKT_NODE_SECRET: secrets[i]!,
        TREFFPUNKT_EDGE_URL: fanout?.url ?? (opts.nodeEdgeUrl ? opts.nodeEdgeUrl(edgeUrl) : edgeUrl),
        TREFFPUNKT_NODE_API_PORT: String(apiPort),
        TREFFPUNKT_NODE_RTC_PORT: String(apiPort + 1),
        TREFFPUNKT_NODE_WORKERS: String(opts.workers ?? 1),
        TREFFPUNKT_NODE_WORKER_MIN_PORT: String(workerPorts),
        TREFFPUNKT_NODE_WORKER_MAX_PORT: String(workerPorts + 99),
        // TURN on a free port, so that tests never collide with a TURN server on 3478.
        TREFFPUNKT_TURN_PORT: '0',
        // Stopping a test stack must not wait for a drain (drain.test.ts sets its own).
        TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '0',
        // The consumer and pipe stats routes that tests assert on (node-diagnostics.test.ts: off by default).
        TREFFPUNKT_NODE_DIAGNOSTICS: '1',
        ...(spec.operator ? { TREFFPUNKT_NODE_OPERATOR: spec.operator } : {}),
        ...(spec.region ? { TREFFPUNKT_NODE_REGION: spec.region } : {}),
        ...(spec.jurisdiction ? { TREFFPUNKT_NODE_JURISDICTION: spec.jurisdiction } : {}),
        ...opts.mediaNodeEnv,
        ...spec.env,
      },
      out,
    );
    const controlUrl = `http://127.0.0.1:${apiPort}`;
    return {
      nodeId: spec.nodeId,
      secret: secrets[i]!,
      controlUrl,
      process,
      alive: () => !exited(process),
      controlFetch: controlFetcher(secrets[i]!, spec.nodeId, controlUrl),
    };
  });
  const mediaNode = nodes[0]!.process;
  try {
    await waitFor(
      `${nodes.length} media node(s) to register with the edge`,
      async () => {
        if ((edge && exited(edge)) || cluster?.edges.some(exited) || nodes.some((n) => !n.alive()))
          throw new Error(`a service exited:\n${out.join('')}`);
        for (const port of cluster?.edgePorts ?? [edgePort]) {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (((await res.json()) as { mediaNodes: number }).mediaNodes < nodes.length) return false;
        }
        return true;
      },
      30_000,
      100,
    );
  } catch (err) {
    edge?.kill('SIGKILL');
    for (const c of cluster?.edges ?? []) c.kill('SIGKILL');
    for (const n of nodes) n.process.kill('SIGKILL');
    await worker?.close();
    await fanout?.close();
    await nats?.stop();
    throw err;
  }
  const stopOne = (c: ChildProcess) =>
    exited(c)
      ? Promise.resolve()
      : new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
        });
  const [first] = nodes as [StackNode];
  /** Cluster: rooms whose first socket URL was handed out (to the first edge, the owner). */
  const roomsSeen = new Set<string>();
  const { nodeId, secret } = first;
  return {
    runtime,
    mediaNodes: nodes,
    edgeUrl,
    wsUrl: (room) => {
      if (!cluster) return `ws://127.0.0.1:${edgePort}/rooms/${room}/ws`;
      const port = roomsSeen.has(room) ? cluster.edgePorts[1] : edgePort;
      roomsSeen.add(room);
      return `ws://127.0.0.1:${port}/rooms/${room}/ws`;
    },
    controlUrl: first.controlUrl,
    nodeId,
    secret,
    controlFetch: first.controlFetch,
    nodeFetch: (path, body) =>
      signedFetch({ baseUrl: edgeUrl, nodeId, secret }, { method: 'POST', path, body: JSON.stringify(body) }),
    edgePid: () => (cluster ? cluster.edges[0]!.pid : edge ? edge.pid : worker!.pid()),
    edgeAlive: () =>
      cluster ? cluster.edges.every((c) => !exited(c)) : edge ? !exited(edge) : worker!.pid() !== undefined,
    stopEdge: async (signal) => {
      const child = edge;
      if (!child || !nodeEdgeEnv) throw new Error('only the Node edge can be stopped and started');
      if (exited(child)) return { code: child.exitCode, signal: child.signalCode };
      return new Promise((r) => {
        child.once('exit', (code, sig) => r({ code, signal: sig }));
        child.kill(signal);
      });
    },
    startEdge: async () => {
      if (!edge || !nodeEdgeEnv) throw new Error('only the Node edge can be stopped and started');
      if (!exited(edge)) throw new Error('the edge still runs');
      edge = spawnService('edge/node/entry.ts', nodeEdgeEnv, out);
      const started = edge;
      await waitFor(
        'the restarted edge to answer',
        async () => {
          if (exited(started)) throw new Error(`the edge exited:\n${out.join('')}`);
          return (await fetch(`${edgeUrl}/healthz`).catch(() => undefined))?.ok === true;
        },
        30_000,
        20,
      );
    },
    evictRoom: async (room) => {
      if (!worker) throw new Error('only the workerd edge can evict a room');
      await worker.evictRoom(room);
    },
    mediaNode,
    output: () => out.join('') + (nats?.output() ?? ''),
    stop: async () => {
      // A node frozen by a test (SIGSTOP) must be woken to hear SIGTERM.
      for (const n of nodes) if (n.alive()) n.process.kill('SIGCONT');
      await Promise.all([
        ...nodes.map((n) => stopOne(n.process)),
        ...(cluster?.edges ?? []).map(stopOne),
        edge ? stopOne(edge) : worker ? worker.close() : undefined,
      ]);
      await fanout?.close();
      await nats?.stop();
      if (storageDir) await rm(storageDir, { recursive: true, force: true });
    },
  };
}
