/**
 * A real 3-server NATS cluster with JetStream for a test (issue 12): Debian's nats-server, loopback ports,
 * JetStream storage in temp dirs. Up when every server's /healthz (which includes JetStream) says ok.
 * Servers can be killed (kill -9) and started again on the same ports and storage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './poll.ts';
import { freePortBlock } from './stack.ts';

export const NATS_SERVER = process.env.TREFFPUNKT_NATS_SERVER ?? '/usr/sbin/nats-server';

export interface NatsServer {
  name: string;
  url: string;
  alive(): boolean;
  kill(): Promise<void>;
  killNow(): void;
  start(): Promise<void>;
}

export interface NatsCluster {
  servers: NatsServer[];
  /** All client URLs, comma-separated: TREFFPUNKT_NATS_URL. */
  url: string;
  output(): string;
  /** Resolves once every server runs and says JetStream is ready (/healthz). */
  ready(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL to every server, synchronously (a benchmark's watchdog or exit handler). */
  killNow(): void;
}

export interface NatsClusterOptions {
  /** Indexes of servers that run without JetStream (plain routers: killing one leaves the buckets alone). */
  plain?: number[];
}

export async function startNatsCluster(size = 3, { plain = [] }: NatsClusterOptions = {}): Promise<NatsCluster> {
  const base = await freePortBlock(3 * size);
  const dir = await mkdtemp(join(tmpdir(), 'treffpunkt-nats-'));
  const out: string[] = [];
  const clusterPort = (i: number) => base + 3 * i + 1;
  const servers = Array.from({ length: size }, (_, i) => {
    const name = `n${i + 1}`;
    const port = base + 3 * i;
    const monitor = base + 3 * i + 2;
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(monitor),
      '-n',
      name,
      ...(plain.includes(i) ? [] : ['-js', '-sd', join(dir, name)]),
      '--cluster_name',
      'treffpunkt-test',
      '--cluster',
      `nats://127.0.0.1:${clusterPort(i)}`,
      '--routes',
      Array.from({ length: size }, (_, j) => j)
        .filter((j) => j !== i)
        .map((j) => `nats://127.0.0.1:${clusterPort(j)}`)
        .join(','),
    ];
    let child: ChildProcess | undefined;
    const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    const server: NatsServer = {
      name,
      url: `nats://127.0.0.1:${port}`,
      alive,
      start: async () => {
        child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout!.on('data', (d) => out.push(`[${name}] ${d}`));
        child.stderr!.on('data', (d) => out.push(`[${name}] ${d}`));
      },
      killNow: () => {
        if (alive()) child?.kill('SIGKILL');
      },
      kill: async () => {
        const c = child;
        if (!c || !alive()) return;
        await new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGKILL');
        });
      },
    };
    return { server, monitor };
  });
  const stop = async () => {
    await Promise.all(servers.map((s) => s.server.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  const ready = () =>
    waitFor(
      'the NATS cluster with JetStream',
      async () => {
        for (const s of servers) {
          if (!s.server.alive()) throw new Error(`nats-server ${s.server.name} exited:\n${out.join('')}`);
          const res = await fetch(`http://127.0.0.1:${s.monitor}/healthz`);
          if (!res.ok) return false;
        }
        return true;
      },
      30_000,
      100,
    ).then(() => undefined);
  try {
    await Promise.all(servers.map((s) => s.server.start()));
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    servers: servers.map((s) => s.server),
    url: servers.map((s) => s.server.url).join(','),
    output: () => out.join(''),
    ready,
    stop,
    killNow: () => {
      for (const s of servers) s.server.killNow();
    },
  };
}

/** One nats-server with JetStream, not clustered (the scenario suite's cluster runtime, stack.ts). */
export async function startNatsServer(): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
  const port = await freePortBlock(2);
  const dir = await mkdtemp(join(tmpdir(), 'treffpunkt-nats-'));
  const out: string[] = [];
  const child = spawn(
    NATS_SERVER,
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(port + 1), '-js', '-sd', dir, '-n', 'stack'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => out.push(`[nats] ${d}`));
  child.stderr!.on('data', (d) => out.push(`[nats] ${d}`));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null)
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGKILL');
      });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'nats-server with JetStream',
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server exited:\n${out.join('')}`);
        return (await fetch(`http://127.0.0.1:${port + 1}/healthz`)).ok;
      },
      30_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `nats://127.0.0.1:${port}`, output: () => out.join(''), stop };
}
