/**
 * A real nats-server (Debian package) with JetStream for a test: loopback, a free port, its storage in a
 * temporary directory that stop() removes. Waits until the server accepts clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { waitFor } from './poll.ts';
import { freePortBlock } from './stack.ts';

export interface TestNatsServer {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startNatsServer(): Promise<TestNatsServer> {
  const port = await freePortBlock(1);
  const dir = await mkdtemp(join(tmpdir(), 'treffpunkt-nats-'));
  const out: string[] = [];
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => out.push(String(d)));
  child.stderr!.on('data', (d) => out.push(String(d)));
  const url = `nats://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null)
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGKILL');
      });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('nats-server to accept clients', async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited:\n${out.join('')}`);
      const nc = await connect({ servers: url, reconnect: false });
      await nc.close();
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, process: child, output: () => out.join(''), stop };
}
