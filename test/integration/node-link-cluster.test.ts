/**
 * The node link in an edge cluster (issue 14): the edge that holds a node's link marks it lost in the shared
 * NATS registry, so every edge sees the loss at once. Two Node edges share the registry; both media nodes
 * register and link with edge B; after kill -9 of one, edge A — which never held a link — counts it lost
 * within 10 s, with a heartbeat timeout of 60 s that cannot explain it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startNatsServer } from '../support/nats-server.ts';
import { startEdgeProcess } from '../support/edge-process.ts';
import { waitFor } from '../support/poll.ts';
import { startStack, type StackNode } from '../support/stack.ts';

test('kill -9 of a node linked to edge B: edge A sees it lost through NATS at once', async (t) => {
  const nats = await startNatsServer();
  t.after(() => nats.stop());
  const secrets = [randomBytes(24).toString('hex'), randomBytes(24).toString('hex')];
  const edgeEnv = {
    TREFFPUNKT_NODE_SECRETS: `n1=${secrets[0]},n2=${secrets[1]}`,
    TREFFPUNKT_NATS_URL: nats.url,
    TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '60000',
  };
  const edgeB = await startEdgeProcess(t, edgeEnv);
  const urlB = edgeB.url;

  const stack = await startStack({
    edgeEnv,
    nodes: [
      { nodeId: 'n1', env: { TREFFPUNKT_NODE_SECRET: secrets[0]! } },
      { nodeId: 'n2', env: { TREFFPUNKT_NODE_SECRET: secrets[1]! } },
    ],
    // Edge B first: both nodes register and link there; edge A (the stack's) sees them through NATS.
    nodeEdgeUrl: (edgeA) => `${urlB},${edgeA}`,
  });
  t.after(() => stack.stop());
  await waitFor('both nodes to link with edge B', () =>
    ['n1', 'n2'].every((n) =>
      new RegExp(`"node":"${n}","edge":"${urlB}"[^\\n]*node link to the edge open`).test(stack.output()),
    ),
  );
  assert.doesNotMatch(stack.output(), /media node registered/, 'edge A never got a registration itself');
  const healthyOnA = async () =>
    ((await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number }).mediaNodes;
  assert.equal(await healthyOnA(), 2);

  const [n1] = stack.mediaNodes as [StackNode];
  n1.process.kill('SIGKILL');
  await waitFor('edge A to count n1 lost', async () => (await healthyOnA()) === 1, 10_000);
  assert.match(edgeB.output(), /"node":"n1","reason":"link closed"[^\n]*media node lost/, 'edge B found it');
});
