/**
 * A lone edge with a state file (TREFFPUNKT_STATE_FILE) survives its own restart as far as the registry
 * goes (issue 12): kill -9, start again on the same file, and the edge knows its media node before the
 * node has said a word to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/poll.ts';
import { startStack, type StackNode } from '../support/stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('kill -9 and restart of a lone edge: the registry comes back from the state file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = join(dir, 'edge.db');
  const stack = await startStack({ edgeEnv: { TREFFPUNKT_STATE_FILE: stateFile } });
  t.after(() => stack.stop());
  const [node] = stack.mediaNodes as [StackNode];
  assert.match(stack.output(), /"registry":"sqlite"/);

  // The node is frozen, so that only the state file can tell the new edge about it.
  node.process.kill('SIGSTOP');
  t.after(() => void node.process.kill('SIGCONT'));
  process.kill(stack.edgePid()!, 'SIGKILL');
  await waitFor('the edge to die', () => !stack.edgeAlive());
  const out: string[] = [];
  const edge = spawn(process.execPath, ['edge/node/entry.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TREFFPUNKT_NODE_SECRETS: `${node.nodeId}=${node.secret}`,
      TREFFPUNKT_STATE_FILE: stateFile,
      TREFFPUNKT_EDGE_PORT: new URL(stack.edgeUrl).port,
      TREFFPUNKT_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  edge.stdout.on('data', (d) => out.push(String(d)));
  edge.stderr.on('data', (d) => out.push(String(d)));
  t.after(() => void edge.kill('SIGKILL'));
  await waitFor('the new edge to listen', () => out.join('').includes('edge listening'), 20_000);
  assert.match(out.join(''), /"nodes":\["test-node"\].*media node registry loaded from the state file/);
  const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
  assert.equal(health.mediaNodes, 1, 'the node is known and up, though it has not spoken to this edge');

  // A heartbeat signed as the node is taken as it is: 200, not the register-again 409.
  await waitFor('a heartbeat to be taken', async () => {
    const res = await stack.nodeFetch(`/api/nodes/${node.nodeId}/heartbeat`, {
      load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
    });
    return res.status === 200;
  });
});
