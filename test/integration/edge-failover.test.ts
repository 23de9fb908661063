/**
 * Two Node edges sharing the media-node registry through NATS (issue 12, "The registry is shared"): a
 * media node with both edges in TREFFPUNKT_EDGE_URL registers with the first; when that edge dies
 * (kill -9), its heartbeats go on through the other, which saw the node all along — rooms there keep
 * their node, nobody is moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startNatsServer } from '../support/nats-server.ts';
import { startEdgeProcess } from '../support/edge-process.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack } from '../support/stack.ts';

const TIMEOUT_MS = 1_500;

test('a node moves to the next edge when its edge dies; the other edge keeps it up', async (t) => {
  const nats = await startNatsServer();
  t.after(() => nats.stop());
  const secret = randomBytes(24).toString('hex');
  const edgeEnv = {
    TREFFPUNKT_NODE_SECRETS: `n1=${secret}`,
    TREFFPUNKT_NATS_URL: nats.url,
    TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
  };
  // Edge B: the one the node talks to first, and the one that dies.
  const edgeB = await startEdgeProcess(t, edgeEnv);
  const urlB = edgeB.url;

  const stack = await startStack({
    edgeEnv,
    nodes: [{ nodeId: 'n1', env: { TREFFPUNKT_NODE_SECRET: secret } }],
    nodeEdgeUrl: (edgeA) => `${urlB},${edgeA}`,
  });
  t.after(() => stack.stop());
  // The stack's edge (A) is up once it sees the node, which registered with B: through NATS.
  await waitFor('the node to say it registered with edge B', () =>
    new RegExp(`"edge":"${urlB}".*registered with edge`).test(stack.output()),
  );
  assert.doesNotMatch(stack.output(), /media node registered/, 'edge A never got a registration itself');

  const alice = await SignalingClient.connect(stack.wsUrl('failover'));
  await alice.join('Alice');

  edgeB.child.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(
    'the node to register with edge A',
    () => new RegExp(`"edge":"${stack.edgeUrl}".*registered with edge`).test(stack.output()),
    15_000,
  );
  // Past twice the heartbeat timeout since edge B died: had the heartbeats stopped, edge A would have
  // lost the node by now and moved Alice.
  await waitFor('twice the heartbeat timeout to pass', () => Date.now() - killedAt > 3 * TIMEOUT_MS, 15_000);
  const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
  assert.equal(health.mediaNodes, 1);
  assert.deepEqual(alice.events('mediaMoved'), []);
  assert.deepEqual(alice.events('mediaUnavailable'), []);
  assert.doesNotMatch(stack.output(), /moving the room off a media node/);
  // A new participant on edge A still gets the node.
  const bob = await SignalingClient.connect(stack.wsUrl('failover'));
  assert.ok((await bob.join('Bob')).routerRtpCapabilities);
  alice.ws.close();
  bob.ws.close();
});
