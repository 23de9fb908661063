/**
 * The node link's messages (shared/node-link.ts) and the edge's judgement of links (edge/core/node-links.ts):
 * a close or a silence becomes a loss only after a failed health check; closes on purpose and closes of
 * replaced links never do; the registry then refuses the lost node's heartbeats until it registers again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLinks } from '../../edge/core/node-links.ts';
import { InMemoryNodeRegistry, type NodeLossReason } from '../../edge/core/node-registry.ts';
import { EdgeLinkMessage, MAX_LINK_MESSAGE_BYTES, NodeLinkMessage, parseLinkFrame } from '../../shared/node-link.ts';
import { waitFor } from '../support/poll.ts';
import { fakeLinkSocket } from '../support/fake-link-socket.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

test('link messages: the schemas take what the protocol says and refuse the rest', () => {
  const node = (v: unknown) => parseLinkFrame(NodeLinkMessage, JSON.stringify(v));
  const edge = (v: unknown) => parseLinkFrame(EdgeLinkMessage, JSON.stringify(v));
  assert.deepEqual(node({ type: 'ping', seq: 3 }), { type: 'ping', seq: 3 });
  assert.deepEqual(node({ type: 'stopping', reason: 'shutdown' }), { type: 'stopping', reason: 'shutdown' });
  assert.deepEqual(edge({ type: 'hello', pingIntervalMs: 250 }), { type: 'hello', pingIntervalMs: 250 });
  assert.deepEqual(edge({ type: 'pong', seq: 0 }), { type: 'pong', seq: 0 });
  for (const bad of [
    { type: 'ping' },
    { type: 'ping', seq: -1 },
    { type: 'ping', seq: 1.5 },
    { type: 'ping', seq: '1' },
    { type: 'ping', seq: 1, extra: true },
    { type: 'stopping', reason: 'tired' },
    { type: 'stopping' },
    { type: 'pong', seq: 1 },
    { type: 'hello', pingIntervalMs: 250 },
    { type: 'unknown' },
    null,
    [],
  ])
    assert.equal(node(bad), undefined, `node → edge ${JSON.stringify(bad)}`);
  for (const bad of [
    { type: 'hello', pingIntervalMs: 10 },
    { type: 'hello', pingIntervalMs: 600_000 },
    { type: 'hello' },
    { type: 'ping', seq: 1 },
  ])
    assert.equal(edge(bad), undefined, `edge → node ${JSON.stringify(bad)}`);
  assert.equal(parseLinkFrame(NodeLinkMessage, '{"type":"ping",'), undefined, 'not JSON');
  const padded = `{"type":"ping","seq":1${' '.repeat(MAX_LINK_MESSAGE_BYTES)}}`;
  assert.equal(parseLinkFrame(NodeLinkMessage, padded), undefined, 'too large');
});

const fakeSocket = fakeLinkSocket;

function links(up: (nodeId: string) => boolean, silenceMs = 200) {
  const lost: { nodeId: string; reason: NodeLossReason }[] = [];
  const probes: string[] = [];
  const l = new NodeLinks({
    silenceMs,
    probe: async (nodeId) => {
      probes.push(nodeId);
      return up(nodeId);
    },
    lose: async (nodeId, reason) => void lost.push({ nodeId, reason }),
    log: silent,
  });
  return { links: l, lost, probes };
}

test('a link that closes without stopping is a loss once the health check fails; not while the node answers', async () => {
  const alive = new Set(['b']);
  const { links: l, lost, probes } = links((id) => alive.has(id), 60_000);
  const a = fakeSocket();
  const b = fakeSocket();
  const ha = l.open('a', a.socket);
  const hb = l.open('b', b.socket);
  assert.deepEqual(a.sent, [{ type: 'hello', pingIntervalMs: 15_000 }]);
  ha.message(JSON.stringify({ type: 'ping', seq: 1 }));
  assert.deepEqual(a.sent.at(-1), { type: 'pong', seq: 1 });
  ha.closed();
  hb.closed();
  await waitFor('both health checks', () => probes.length === 2);
  await waitFor('the loss of a', () => lost.length === 1);
  assert.deepEqual(lost, [{ nodeId: 'a', reason: 'link closed' }], 'b answered its health check: not lost');
  l.stop();
});

test('closes on purpose, of replaced links and at the edge stop are no loss, nor is a bad message', async () => {
  const { links: l, lost, probes } = links(() => false, 60_000);
  const a = fakeSocket();
  const ha = l.open('a', a.socket);
  ha.message(JSON.stringify({ type: 'stopping', reason: 'shutdown' }));
  ha.closed();
  // A newer link replaces the older one, which the edge closes itself.
  const old = fakeSocket();
  const hOld = l.open('b', old.socket);
  const hNew = l.open('b', fakeSocket().socket);
  assert.equal(old.closed(), 1000);
  hOld.closed();
  // Garbage: the edge closes the link (1008), and that close is its own.
  const rude = fakeSocket();
  const hRude = l.open('c', rude.socket);
  hRude.message('{"type":"ping","seq":"x"}');
  assert.equal(rude.closed(), 1008);
  hRude.closed();
  l.stop();
  hNew.closed();
  assert.deepEqual(probes, []);
  assert.deepEqual(lost, []);
});

test('a silent link is checked: lost when the health check fails, kept while it passes', async () => {
  const alive = new Set(['b']);
  const { links: l, lost } = links((id) => alive.has(id));
  const a = fakeSocket();
  l.open('a', a.socket);
  l.open('b', fakeSocket().socket);
  await waitFor('the silent node a to be lost', () => lost.length > 0, 5_000, 20);
  assert.deepEqual(lost, [{ nodeId: 'a', reason: 'link silent' }]);
  assert.equal(a.closed(), 4001, 'the edge closes the link of a node it found lost');
  assert.equal(l.size, 1, 'b, silent but answering, keeps its link');
  l.stop();
});

test('a silent link: unresponsive while its health check runs (the rooms hear it at once); itself again once heard', async () => {
  let answer: ((up: boolean) => void) | undefined;
  const heard: string[] = [];
  const lost: string[] = [];
  const l = new NodeLinks({
    silenceMs: 200,
    probe: () => new Promise<boolean>((r) => (answer = r)),
    lose: async (nodeId) => void lost.push(nodeId),
    unresponsive: (nodeId) => heard.push(nodeId),
    log: silent,
  });
  const h = l.open('a', fakeSocket().socket);
  assert.equal(l.unresponsive('a'), false, 'just opened');
  await waitFor('the silent link to be checked', () => answer !== undefined, 5_000, 10);
  assert.equal(l.unresponsive('a'), true, 'silent, its health check not answered');
  assert.deepEqual(heard, ['a'], 'told once, when the check starts');
  h.message('{"type":"ping","seq":1}');
  assert.equal(l.unresponsive('a'), false, 'heard again: itself at once, whatever the check says');
  answer!(false);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lost, [], 'heard during the check: not lost');
  assert.equal(l.unresponsive('b'), false, 'a node without a link is not judged here');
  l.stop();
});

test('a stalled edge (its sweep a whole bound late) judges no link silent; a node silent after the stall is checked', async () => {
  const heard: string[] = [];
  const probes: string[] = [];
  const infos: string[] = [];
  const l = new NodeLinks({
    silenceMs: 200,
    probe: async (nodeId) => {
      probes.push(nodeId);
      return true;
    },
    lose: async () => {},
    unresponsive: (nodeId) => heard.push(nodeId),
    log: { debug() {}, warn() {}, error() {}, info: (_: unknown, msg: string) => void infos.push(msg) } as never,
  });
  const h = l.open('a', fakeSocket().socket);
  // The whole thread stops for more than two bounds, as under SIGSTOP: no timer and no socket runs.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  await waitFor('the late sweep', () => infos.some((m) => /this edge was stalled/.test(m)), 5_000, 5);
  assert.deepEqual(heard, [], 'the late sweep asks nobody: the pings wait unread in the socket');
  assert.deepEqual(probes, []);
  // The socket is read after the timers: the node's pings arrive, and the link is itself.
  h.message('{"type":"ping","seq":1}');
  assert.equal(l.unresponsive('a'), false);
  // Really silent from now on: checked one bound later.
  await waitFor('the silent link to be checked', () => probes.length > 0, 5_000, 10);
  assert.deepEqual(heard, ['a']);
  l.stop();
});

test('a lost node: status lost at once, heartbeats refused until it registers again', async () => {
  const registry = new InMemoryNodeRegistry(60_000);
  const load = { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 };
  const heard: string[] = [];
  registry.onLeave((id, why) => heard.push(`${id} ${why}`));
  await registry.register({ nodeId: 'n1', controlUrl: 'http://127.0.0.1:1', region: 'eu', operator: 'op', load }, 0);
  assert.equal(await registry.status('n1', 1), 'up');
  assert.equal(await registry.lose('n1', 'link closed', 2), true);
  assert.equal(await registry.lose('n1', 'link closed', 3), false, 'lost once');
  assert.deepEqual(heard, ['n1 lost']);
  assert.equal(await registry.status('n1', 4), 'lost');
  assert.deepEqual(await registry.healthy(4), []);
  assert.equal(await registry.heartbeat('n1', load, 5), false, 'a lost node registers again');
  await registry.register({ nodeId: 'n1', controlUrl: 'http://127.0.0.1:1', region: 'eu', operator: 'op', load }, 6);
  assert.equal(await registry.status('n1', 7), 'up');
});
