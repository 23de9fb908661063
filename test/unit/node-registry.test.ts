import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryNodeRegistry, type MediaNodeRecord } from '../../edge/core/node-registry.ts';
import { stickyRegionLeastLoaded } from '../../edge/core/node-selection.ts';

const load = (transports = 0, workers = 1) => ({ workers, routers: 0, transports, producers: 0, consumers: 0 });
const reg = (nodeId: string, region = 'eu', l = load()) => ({ nodeId, controlUrl: `http://${nodeId}:4000`, region, operator: 'op', load: l });

test('registry: register, heartbeat, expiry after the timeout', async () => {
  const r = new InMemoryNodeRegistry(1_000);
  await r.register(reg('a'), 0);
  assert.equal((await r.healthy(500)).length, 1);
  assert.equal((await r.healthy(1_001)).length, 0, 'no heartbeat for longer than the timeout');
  assert.equal(await r.heartbeat('a', load(7), 1_500), true);
  const [a] = await r.healthy(2_000);
  assert.equal(a?.load.transports, 7);
  assert.equal(await r.heartbeat('unknown', load(), 0), false, 'unknown nodes must register');
  await r.register(reg('a', 'us'), 3_000);
  assert.equal((await r.get('a'))?.region, 'us', 're-registration replaces the record');
});

test('selection: sticky to the room\'s node, else same region, else least loaded', () => {
  const rec = (id: string, region: string, transports: number, workers = 1): MediaNodeRecord => ({ ...reg(id, region, load(transports, workers)), registeredAt: 0, lastHeartbeatAt: 0 });
  const nodes = [rec('a', 'eu', 10), rec('b', 'eu', 2), rec('c', 'us', 0)];
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: [] })?.nodeId, 'c');
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: [], region: 'eu' })?.nodeId, 'b');
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: ['a'], region: 'us' })?.nodeId, 'a');
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: ['gone'], region: 'mars' })?.nodeId, 'c');
  assert.equal(stickyRegionLeastLoaded([rec('x', 'eu', 8, 4), rec('y', 'eu', 3, 1)], { roomNodeIds: [] })?.nodeId, 'x', 'load is per worker');
  assert.equal(stickyRegionLeastLoaded([], { roomNodeIds: [] }), undefined);
});
