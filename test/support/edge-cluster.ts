/**
 * A real edge cluster for a test (issue 12): a 3-server NATS cluster (nats-cluster.ts), three Node edges
 * in cluster mode (edge/node/entry.ts with TREFFPUNKT_NATS_URL, ids e1..e3) and two media nodes. Edges
 * can be killed (kill -9), stopped (SIGTERM, which hands their rooms over) and started again on their
 * port.
 *
 * TEMPORARY, until the shared registry lands (the registry part of issue 12, another branch): each media
 * node registers with a small fan-out proxy that passes its signed registration and heartbeats on to
 * every live edge (its events to one), so that every edge knows every node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { waitFor } from './poll.ts';
import { freePortBlock } from './stack.ts';
import { startNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { startRegistrationFanout } from './registration-fanout.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ClusterEdge {
  id: string;
  port: number;
  url: string;
  wsUrl(room: string): string;
  alive(): boolean;
  /** kill -9. */
  kill(): Promise<void>;
  /** SIGTERM: hands its rooms over, then exits. */
  stop(): Promise<void>;
  /** Starts it again (same port; a new edge id, as a new process gets). */
  start(): Promise<void>;
}

export interface EdgeCluster {
  nats: NatsCluster;
  edges: ClusterEdge[];
  mediaNodes: { nodeId: string; process: ChildProcess }[];
  /** The edge id that holds the room's lease now (read from NATS), if any. */
  owner(room: string): Promise<string | undefined>;
  edgeById(id: string): ClusterEdge;
  /** Participants in the room's stored snapshot. */
  storedParticipants(room: string): Promise<number>;
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL to every process of the cluster, synchronously (a benchmark's watchdog or exit handler). */
  killNow(): void;
}

export interface EdgeClusterOptions {
  edgeEnv?: Record<string, string>;
  leaseMs?: number;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export async function startEdgeCluster(opts: EdgeClusterOptions = {}): Promise<EdgeCluster> {
  const out: string[] = [];
  const nats = await startNatsCluster(3);
  const base = await freePortBlock(3 + 1 + 3 * 2);
  const nodeIds = ['node-a', 'node-b'];
  const secrets = nodeIds.map(() => randomBytes(24).toString('hex'));
  const nodeSecrets = nodeIds.map((id, i) => `${id}=${secrets[i]}`).join(',');
  const children: ChildProcess[] = [];
  let generation = 0;

  const edges: ClusterEdge[] = [0, 1, 2].map((i) => {
    const port = base + i;
    let child: ChildProcess | undefined;
    const edge: ClusterEdge = {
      id: `e${i + 1}`,
      port,
      url: `http://127.0.0.1:${port}`,
      wsUrl: (room) => `ws://127.0.0.1:${port}/rooms/${room}/ws`,
      alive: () => child !== undefined && !exited(child),
      kill: async () => {
        const c = child;
        if (!c || exited(c)) return;
        await new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGKILL');
        });
      },
      stop: async () => {
        const c = child;
        if (!c || exited(c)) return;
        await new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
        });
      },
      start: async () => {
        const id = generation++ < 3 ? `e${i + 1}` : `e${i + 1}g${generation}`;
        edge.id = id;
        child = spawn(process.execPath, ['edge/node/entry.ts'], {
          cwd: root,
          env: {
            ...process.env,
            TREFFPUNKT_LOG_LEVEL: 'info',
            TREFFPUNKT_EDGE_PORT: String(port),
            TREFFPUNKT_NODE_SECRETS: nodeSecrets,
            TREFFPUNKT_CONNECTIONS_PER_MINUTE: '100000',
            TREFFPUNKT_SOCKETS_PER_ADDRESS: '100000',
            TREFFPUNKT_NATS_URL: nats.url,
            TREFFPUNKT_NATS_REPLICAS: '3',
            TREFFPUNKT_EDGE_ID: id,
            TREFFPUNKT_ROOM_LEASE_MS: String(opts.leaseMs ?? 3_000),
            ...opts.edgeEnv,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        child.stdout!.on('data', (d) => out.push(`[${id}] ${d}`));
        child.stderr!.on('data', (d) => out.push(`[${id}] ${d}`));
        const c = child;
        await waitFor(
          `edge ${id} to listen and know both media nodes`,
          async () => {
            if (exited(c)) throw new Error(`edge ${id} exited:\n${out.join('')}`);
            const res = await fetch(`${edge.url}/healthz`);
            return ((await res.json()) as { mediaNodes: number }).mediaNodes >= nodeIds.length;
          },
          // Generous: on a loaded machine an edge takes seconds to compile and start.
          90_000,
          100,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${out.filter((l) => l.startsWith(`[${id}]`)).join('')}`);
        });
      },
    };
    return edge;
  });

  // TEMPORARY fan-out of the media nodes' signed requests to every live edge (see the header).
  const proxyPort = base + 3;
  const proxy = await startRegistrationFanout(proxyPort, () => edges.filter((e) => e.alive()).map((e) => e.url));

  const mediaNodes = nodeIds.map((nodeId, i) => {
    const apiPort = base + 4 + 3 * i;
    const workerPorts = base + 100 + 100 * i;
    const child = spawn(process.execPath, ['media-node/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        TREFFPUNKT_LOG_LEVEL: 'info',
        TREFFPUNKT_NODE_ID: nodeId,
        TREFFPUNKT_NODE_SECRET: secrets[i]!,
        TREFFPUNKT_EDGE_URL: proxy.url,
        TREFFPUNKT_NODE_API_PORT: String(apiPort),
        TREFFPUNKT_NODE_RTC_PORT: String(apiPort + 1),
        TREFFPUNKT_NODE_WORKERS: '1',
        TREFFPUNKT_NODE_WORKER_MIN_PORT: String(workerPorts),
        TREFFPUNKT_NODE_WORKER_MAX_PORT: String(workerPorts + 99),
        TREFFPUNKT_TURN_PORT: '0',
        TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout!.on('data', (d) => out.push(`[${nodeId}] ${d}`));
    child.stderr!.on('data', (d) => out.push(`[${nodeId}] ${d}`));
    return { nodeId, process: child };
  });

  let nc: NatsConnection | undefined;
  const stop = async () => {
    await nc?.close().catch(() => {});
    for (const c of children) if (!exited(c)) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) => (exited(c) ? undefined : new Promise<void>((r) => c.once('exit', () => r())))),
    );
    await proxy.close();
    await nats.stop();
  };
  try {
    await Promise.all(edges.map((e) => e.start()));
    nc = await connect({ servers: nats.url.split(','), maxReconnectAttempts: -1 });
  } catch (err) {
    await stop();
    throw err;
  }
  const kvm = new Kvm(jetstream(nc));
  const leases = await kvm.open('treffpunkt-room-leases');
  const rooms = await kvm.open('treffpunkt-rooms');
  return {
    nats,
    edges,
    mediaNodes,
    owner: async (room) => {
      const e = await leases.get(room);
      return e?.operation === 'PUT' ? e.string() : undefined;
    },
    edgeById: (id) => {
      const e = edges.find((x) => x.id === id);
      if (!e) throw new Error(`no edge ${id}`);
      return e;
    },
    storedParticipants: async (room) => {
      const e = await rooms.get(room);
      return e?.operation === 'PUT' ? (e.json() as { participants: unknown[] }).participants.length : 0;
    },
    output: () => out.join('') + nats.output(),
    stop,
    killNow: () => {
      for (const c of children) if (!exited(c)) c.kill('SIGKILL');
      nats.killNow();
    },
  };
}
