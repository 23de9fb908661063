/**
 * A real media node process (media-node/main.ts) that a test starts next to a stack, for nodes the stack
 * must not wait for (refused ones, ones added later). Free loopback ports, TURN off, info logs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePortBlock } from './stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A media node process of our own (the stack would wait for it to register). */
export async function spawnMediaNode(nodeId: string, secret: string, edgeUrl: string, env: Record<string, string>) {
  const base = await freePortBlock(12);
  const out: string[] = [];
  const child = spawn(process.execPath, ['media-node/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TREFFPUNKT_LOG_LEVEL: 'info',
      TREFFPUNKT_NODE_ID: nodeId,
      TREFFPUNKT_NODE_SECRET: secret,
      TREFFPUNKT_EDGE_URL: edgeUrl,
      TREFFPUNKT_NODE_API_PORT: String(base),
      TREFFPUNKT_NODE_RTC_PORT: String(base + 1),
      TREFFPUNKT_NODE_WORKERS: '1',
      TREFFPUNKT_NODE_WORKER_MIN_PORT: String(base + 2),
      TREFFPUNKT_NODE_WORKER_MAX_PORT: String(base + 11),
      TREFFPUNKT_TURN_MODE: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => out.push(String(d)));
  child.stderr.on('data', (d) => out.push(String(d)));
  const lines = () =>
    out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, output: () => out.join('') };
}
