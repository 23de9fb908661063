/**
 * The media node never forgets (issue 13) — now it does. After an in-memory edge restarts, its rooms are
 * gone: the node re-registers, names the rooms it holds, and closes the ones the edge does not know. And
 * a transport nobody connects is reaped, with its router, by the node itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack, type StackNode } from '../support/stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

type Held = Record<string, { transports: number; producers: number; consumers: number }>;
async function held(node: StackNode): Promise<Held> {
  const res = await node.controlFetch('/v1/diagnostics/rooms');
  assert.equal(res.status, 200);
  return ((await res.json()) as { rooms: Held }).rooms;
}

test('after an edge restart the node closes the rooms the edge no longer has', async (t) => {
  const stack = await startStack({ nodes: [{ nodeId: 'n1' }] });
  t.after(() => stack.stop());
  const [node] = stack.mediaNodes as [StackNode];
  const edgeEnv = { TREFFPUNKT_NODE_SECRETS: `n1=${node.secret}` };

  const alice = await SignalingClient.connect(stack.wsUrl('gone-after-restart'));
  await alice.join('Alice');
  await alice.request('createTransport', { direction: 'recv' });
  assert.equal((await held(node))['gone-after-restart']?.transports, 1);

  // kill -9 of the in-memory edge: the room is gone with it. The same edge comes back on its port.
  process.kill(stack.edgePid()!, 'SIGKILL');
  await waitFor('the edge to die', () => !stack.edgeAlive());
  const port = new URL(stack.edgeUrl).port;
  const out: string[] = [];
  const edge = spawn(process.execPath, ['edge/node/entry.ts'], {
    cwd: root,
    env: { ...process.env, ...edgeEnv, TREFFPUNKT_EDGE_PORT: port, TREFFPUNKT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  edge.stdout.on('data', (d) => out.push(String(d)));
  edge.stderr.on('data', (d) => out.push(String(d)));
  t.after(() => void edge.kill('SIGKILL'));

  await waitFor(
    'the node to hold nothing of the room',
    async () => !('gone-after-restart' in (await held(node))),
    30_000,
  );
  assert.match(stack.output(), /closed rooms the edge no longer has/);
  assert.match(out.join(''), /media node told to close rooms that are gone/);

  // A room made after the restart is kept by the next reconciliation.
  const bob = await SignalingClient.connect(stack.wsUrl('made-after-restart'));
  await bob.join('Bob');
  await bob.request('createTransport', { direction: 'recv' });
  assert.equal((await held(node))['made-after-restart']?.transports, 1);
  alice.ws.close();
  bob.ws.close();
});

test('a transport nobody connects is reaped, then its empty router; the load drops', async (t) => {
  const stack = await startStack({
    mediaNodeEnv: { TREFFPUNKT_NODE_REAP_TRANSPORT_SECONDS: '2', TREFFPUNKT_NODE_REAP_ROUTER_SECONDS: '2' },
  });
  t.after(() => stack.stop());
  const [node] = stack.mediaNodes as [StackNode];
  const alice = await SignalingClient.connect(stack.wsUrl('never-connected'));
  await alice.join('Alice');
  await alice.request('createTransport', { direction: 'send' });
  await alice.request('createTransport', { direction: 'recv' });
  assert.equal((await held(node))['never-connected']?.transports, 2);
  await waitFor(
    'the transports to be reaped',
    async () => (await held(node))['never-connected']?.transports === 0,
    15_000,
  );
  await waitFor('the router to be reaped', async () => !('never-connected' in (await held(node))), 15_000);
  assert.match(stack.output(), /closing a transport that stayed unconnected/);
  assert.match(stack.output(), /closing a router nobody uses/);
  const health = (await (await fetch(`${node.controlUrl}/healthz`)).json()) as {
    load: { transports: number; routers: number };
  };
  assert.deepEqual([health.load.transports, health.load.routers], [0, 0], 'nothing abandoned counts as load');
  alice.ws.close();
});
