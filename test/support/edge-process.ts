/**
 * A second Node edge process next to a test's stack (an edge of the same NATS cluster): started on a free
 * loopback port, its log collected, killed when the test ends. For tests that need an edge they can kill
 * or read on its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from './poll.ts';
import { freePortBlock } from './stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface EdgeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** Starts `edge/node/entry.ts` with `env` (at log level info) and resolves once it listens. */
export async function startEdgeProcess(t: TestContext, env: Record<string, string>): Promise<EdgeProcess> {
  const port = await freePortBlock(1);
  const out: string[] = [];
  const child = spawn(process.execPath, ['edge/node/entry.ts'], {
    cwd: root,
    env: { ...process.env, ...env, TREFFPUNKT_EDGE_PORT: String(port), TREFFPUNKT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => out.push(String(d)));
  child.stderr!.on('data', (d) => out.push(String(d)));
  t.after(() => void child.kill('SIGKILL'));
  const output = () => out.join('');
  await waitFor('the edge to listen', () => output().includes('edge listening'), 20_000);
  return { url: `http://127.0.0.1:${port}`, child, output };
}
