/**
 * The node link (issue 14): the Node edge knows a media node is dead the moment it dies, not a heartbeat
 * timeout later. The heartbeat timeout is 60 s here (rooms check their nodes every 20 s), so nothing but
 * the link can explain a loss within the 10 s the tests wait: kill -9 (the link closes), SIGSTOP (the
 * link falls silent and the health check times out), and a SIGTERM drain (the node says `stopping`: no
 * loss, the drain moves the participants as before). An upgrade signed with a wrong secret is refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { signRequest } from '../../shared/request-signing.ts';
import { nodeLinkPath } from '../../shared/node-link.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { freePortBlock, startStack, type Stack, type StackNode } from '../support/stack.ts';

/** Heartbeats cannot explain anything within the tests' 10 s bound. */
const SLOW_HEARTBEATS = { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '60000', TREFFPUNKT_RESUME_GRACE_MS: '5000' };
const BOUND_MS = 10_000;

async function linkedStack(t: { after(fn: () => Promise<void>): void }, mediaNodeEnv: Record<string, string> = {}) {
  const metricsPort = await freePortBlock(1);
  const stack = await startStack({
    nodes: [
      { nodeId: 'node-a', region: 'north' },
      { nodeId: 'node-b', region: 'south' },
    ],
    edgeEnv: { ...SLOW_HEARTBEATS, TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${metricsPort}` },
    mediaNodeEnv,
  });
  t.after(() => stack.stop());
  await waitFor(
    'both nodes to hold a link',
    () => linksOpened(stack, 'node-a') >= 1 && linksOpened(stack, 'node-b') >= 1,
  );
  /** treffpunkt_edge_node_losses_total by reason. */
  const losses = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const found: Record<string, number> = {};
    for (const m of text.matchAll(/^treffpunkt_edge_node_losses_total\{reason="([^"]+)"\} (\d+)/gm))
      found[m[1]!] = Number(m[2]);
    return found;
  };
  return { stack, losses };
}

function linksOpened(stack: Stack, nodeId: string): number {
  return stack.output().match(new RegExp(`"node":"${nodeId}"[^\\n]*node link to the edge open`, 'g'))?.length ?? 0;
}

async function healthyNodes(stack: Stack): Promise<number> {
  return ((await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number }).mediaNodes;
}

/** Alice in a room on node-a (region north), with a transport there. */
async function aliceOnNodeA(stack: Stack, room: string) {
  const client = await SignalingClient.connect(stack.wsUrl(room));
  await client.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'Alice', region: 'north' });
  await client.request('createTransport', { direction: 'send' });
  const [a] = stack.mediaNodes as [StackNode];
  const load = (await (await fetch(`${a.controlUrl}/healthz`)).json()) as { load: { transports: number } };
  assert.equal(load.load.transports, 1, 'Alice is on node-a');
  return client;
}

describe('node link, Node edge, heartbeat timeout 60 s', () => {
  test('a link upgrade with a wrong or missing signature is refused (401 UNAUTHORIZED, no socket)', async (t) => {
    const { stack } = await linkedStack(t);
    const path = nodeLinkPath('node-a');
    const url = `${stack.edgeUrl}${path}`;
    /** The status of a refused upgrade (on Node it carries no body: @hono/node-ws answers with the status only). */
    const upgrade = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
        ws.on('open', () => reject(new Error('the edge opened a link for a forged signature')));
        ws.on('unexpected-response', (req, res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        ws.on('error', () => {});
      });
    /** The same request without the upgrade: the edge's stable error code in its JSON body. */
    const plain = async (headers: Record<string, string>) => {
      const res = await fetch(url, { headers });
      return { status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code };
    };
    const forged = () => signRequest('not-the-secret-of-node-a', 'node-a', { method: 'GET', path, body: '' });
    // Signed for another path (the heartbeat's) with the right secret: refused as well.
    const elsewhere = () =>
      signRequest(stack.mediaNodes[0]!.secret, 'node-a', {
        method: 'GET',
        path: '/api/nodes/node-a/heartbeat',
        body: '',
      });
    for (const [what, headers] of [
      ['wrong secret', forged],
      ['no signature', async () => ({ 'x-treffpunkt-node': 'node-a' })],
      ['another path', elsewhere],
    ] as const) {
      assert.equal(await upgrade(await headers()), 401, what);
      assert.deepEqual(await plain(await headers()), { status: 401, code: 'UNAUTHORIZED' }, what);
    }
    assert.match(stack.output(), /"event":"nodeRequestRefused"[^\n]*"route":"link"/);
    assert.doesNotMatch(stack.output(), /not-the-secret/, 'no secret in the logs');
    // The real nodes' links are untouched.
    assert.equal(await healthyNodes(stack), 2);
    assert.deepEqual(
      [linksOpened(stack, 'node-a'), linksOpened(stack, 'node-b')],
      [1, 1],
      'the refused upgrades replaced no link',
    );
  });

  test('kill -9: the link closes, the node is lost at once and its participants move', async (t) => {
    const { stack, losses } = await linkedStack(t);
    const [a] = stack.mediaNodes as [StackNode];
    const alice = await aliceOnNodeA(stack, 'link-kill');
    try {
      const killedAt = Date.now();
      a.process.kill('SIGKILL');
      const moved = await alice.waitForEvent<{ reason: string }>('mediaMoved', () => true, BOUND_MS);
      console.log(`kill -9 → mediaMoved ${Date.now() - killedAt} ms (heartbeat timeout 60 s)`);
      assert.equal(moved.reason, 'nodeFailed');
      assert.equal(await healthyNodes(stack), 1);
      assert.deepEqual(await losses(), { 'link closed': 1 });
      assert.match(stack.output(), /"node":"node-a","reason":"link closed"[^\n]*media node lost/);
    } finally {
      await alice.close();
    }
  });

  test('SIGSTOP: the silent link moves the room make-before-break at once; the timed-out health check then loses the node; after SIGCONT it registers again', async (t) => {
    const { stack, losses } = await linkedStack(t);
    const [a] = stack.mediaNodes as [StackNode];
    const alice = await aliceOnNodeA(stack, 'link-freeze');
    try {
      const frozenAt = Date.now();
      a.process.kill('SIGSTOP');
      try {
        const moved = await alice.waitForEvent<{ reason: string; keepOld?: boolean }>(
          'mediaMoved',
          () => true,
          BOUND_MS,
        );
        console.log(`SIGSTOP → mediaMoved ${Date.now() - frozenAt} ms (heartbeat timeout 60 s)`);
        // Its mediasoup workers may still forward: the old media stays until the new is up, or the verdict.
        assert.equal(moved.reason, 'nodeDraining');
        assert.equal(moved.keepOld, true);
        await alice.waitForEvent('oldMediaClosed', () => true, BOUND_MS);
        assert.equal(await healthyNodes(stack), 1);
        assert.deepEqual(await losses(), { 'link silent': 1 });
        // The order: silent link, the room moves, then the health check's verdict (never a heartbeat timeout).
        const out = stack.output();
        const at = (re: RegExp) => out.search(re);
        const silentAt = at(/"node":"node-a"[^\n]*media node link silent: checking its health/);
        const movedAt = at(/"node":"node-a"[^\n]*"reason":"nodeUnresponsive"[^\n]*moving the room off a media node/);
        const lostAt = at(/"node":"node-a","reason":"link silent"[^\n]*media node lost/);
        assert.ok(
          silentAt >= 0 && movedAt > silentAt && lostAt > movedAt,
          `order: ${silentAt} < ${movedAt} < ${lostAt}`,
        );
      } finally {
        a.process.kill('SIGCONT');
      }
      // Thawed: its heartbeat is refused (lost), it registers again and links again.
      await waitFor('node-a to be up again', async () => (await healthyNodes(stack)) === 2, 20_000);
      await waitFor('node-a to link again', () => linksOpened(stack, 'node-a') >= 2, 20_000);
      assert.ok((stack.output().match(/"node":"node-a"[^\n]*registered with edge/g)?.length ?? 0) >= 2);
    } finally {
      await alice.close();
    }
  });

  test('SIGTERM: the node drains and says stopping; its link closing is no loss', async (t) => {
    const { stack, losses } = await linkedStack(t, { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '20000' });
    const [a] = stack.mediaNodes as [StackNode];
    const alice = await aliceOnNodeA(stack, 'link-drain');
    try {
      const exited = new Promise<number | null>((r) => a.process.once('exit', (code) => r(code)));
      a.process.kill('SIGTERM');
      const moved = await alice.waitForEvent<{ reason: string }>('mediaMoved', () => true, BOUND_MS);
      assert.equal(moved.reason, 'nodeDraining');
      await alice.request('createTransport', { direction: 'send' });
      await alice.request('mediaMoveDone', {});
      assert.equal(await exited, 0, 'the drained node exits cleanly');
      await waitFor('the edge to see node-a close its link', () =>
        /"node":"node-a","onPurpose":(true|false)[^\n]*media node link closed/.test(stack.output()),
      );
      assert.match(stack.output(), /"node":"node-a","onPurpose":true[^\n]*media node link closed/);
      assert.match(stack.output(), /"node":"node-a","reason":"shutdown"[^\n]*media node link closing on purpose/);
      assert.doesNotMatch(stack.output(), /media node lost/);
      assert.deepEqual(await losses(), {});
    } finally {
      await alice.close();
    }
  });
});
