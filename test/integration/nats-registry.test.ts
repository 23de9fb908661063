/**
 * The cluster's media-node registry (edge/cluster/nats-registry.ts) against a real nats-server with
 * JetStream: what one edge writes every edge sees, concurrent writes do not undo each other, and a record
 * nobody can read is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NatsNodeRegistry, NODE_BUCKET } from '../../edge/cluster/nats-registry.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/poll.ts';

const load = (transports = 0) => ({ workers: 1, routers: 0, transports, producers: 0, consumers: 0 });
const reg = (nodeId: string) => ({
  nodeId,
  controlUrl: 'http://127.0.0.1:4000',
  region: 'eu',
  operator: 'op',
  load: load(),
});
const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('NATS registry: every edge sees every node; drain and heartbeats from two edges both stick', async (t) => {
  const nats = await startNatsServer();
  t.after(() => nats.stop());
  const ncA = await connect({ servers: nats.url });
  const ncB = await connect({ servers: nats.url });
  t.after(() => Promise.all([ncA.close(), ncB.close()]));
  const warned: string[] = [];
  const opts = { heartbeatTimeoutMs: 3_000, log: { ...silent, warn: (_f: object, m: string) => void warned.push(m) } };
  const a = await NatsNodeRegistry.open(ncA, opts);
  const b = await NatsNodeRegistry.open(ncB, opts);
  t.after(() => {
    a.stop();
    b.stop();
  });

  const now = Date.now();
  await a.register(reg('n1'), now);
  await waitFor('edge B to see the node edge A registered', async () => (await b.status('n1', now)) === 'up');
  assert.equal(await b.heartbeat('n1', load(5), now + 100), true, 'edge B takes heartbeats for it');
  await waitFor('edge A to see the heartbeat edge B wrote', async () => (await a.get('n1'))?.load.transports === 5);

  // Edge A drains the node while edge B, whose cache is older, writes a heartbeat: compare-and-set
  // makes B redo its write on the drained record instead of undoing the drain.
  await a.drain('n1');
  assert.equal(await b.heartbeat('n1', load(6), now + 200), true);
  await waitFor('both edges to agree', async () => {
    const [ra, rb] = [await a.get('n1'), await b.get('n1')];
    return ra?.draining && rb?.draining && ra.load.transports === 6 && rb.load.transports === 6;
  });
  assert.equal(await a.heartbeat('unknown', load(), now), false, 'an unknown node must register');

  // An edge started later loads what is there before it serves.
  const ncC = await connect({ servers: nats.url });
  t.after(() => ncC.close());
  const c = await NatsNodeRegistry.open(ncC, opts);
  t.after(() => c.stop());
  assert.equal(await c.status('n1', now + 300), 'draining');

  // Someone writes garbage into the bucket: every edge ignores it, with a warning.
  const kv = await new Kvm(ncA).open(NODE_BUCKET);
  await kv.put('n2', JSON.stringify({ nodeId: 'n2', controlUrl: 'not a url' }));
  await kv.put('n3', JSON.stringify({ ...reg('other-id'), registeredAt: now, lastHeartbeatAt: now }));
  await waitFor('the warnings', () => warned.filter((m) => m.includes('unreadable')).length >= 2);
  assert.equal(await b.get('n2'), undefined);
  assert.equal(await b.get('n3'), undefined, 'a record must name the node of its key');
  assert.deepEqual(
    (await b.healthy(now + 300)).map((n) => n.nodeId),
    [],
  );
});

test('NATS registry: NATS gone, the edge keeps its own view of the nodes and says so', async (t) => {
  const nats = await startNatsServer();
  t.after(() => nats.stop());
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.after(() => nc.close());
  const warned: string[] = [];
  const r = await NatsNodeRegistry.open(nc, {
    heartbeatTimeoutMs: 3_000,
    log: { ...silent, warn: (_f: object, m: string) => void warned.push(m) },
  });
  t.after(() => r.stop());
  const now = Date.now();
  await r.register(reg('n1'), now);
  nats.process.kill('SIGKILL');
  await new Promise<void>((r) =>
    nats.process.exitCode !== null || nats.process.signalCode !== null ? r() : nats.process.once('exit', () => r()),
  );
  // Heartbeats keep the node up on this edge: the rooms it owns must not lose their node to NATS's outage.
  assert.equal(await r.heartbeat('n1', load(3), now + 5_000), true);
  assert.equal(await r.status('n1', now + 6_000), 'up');
  assert.equal((await r.get('n1'))?.load.transports, 3);
  assert.ok(
    warned.some((m) => m.startsWith('NATS unreachable')),
    warned.join('\n'),
  );
});
