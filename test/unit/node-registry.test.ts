import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryNodeRegistry, type MediaNodeRecord } from '../../edge/core/node-registry.ts';
import { stickyRegionLeastLoaded } from '../../edge/core/node-selection.ts';
import { expandJurisdictions, meetsConstraint } from '../../edge/core/media-constraint.ts';

const load = (transports = 0, workers = 1) => ({ workers, routers: 0, transports, producers: 0, consumers: 0 });
const reg = (nodeId: string, region = 'eu', l = load()) => ({
  nodeId,
  controlUrl: `http://${nodeId}:4000`,
  region,
  operator: 'op',
  load: l,
});

test('registry: register, heartbeat, expiry after the timeout', async () => {
  const r = new InMemoryNodeRegistry(1_000);
  await r.register(reg('a'), 0);
  assert.equal((await r.healthy(500)).length, 1);
  assert.equal((await r.healthy(1_001)).length, 1, "a lone node: its silence could be the edge's own stall…");
  assert.equal((await r.healthy(2_001)).length, 0, '…so it is lost after twice the timeout');
  assert.equal(await r.heartbeat('a', load(7), 1_500), true);
  const [a] = await r.healthy(2_000);
  assert.equal(a?.load.transports, 7);
  assert.equal(await r.heartbeat('unknown', load(), 0), false, 'unknown nodes must register');
  await r.register(reg('a', 'us'), 3_000);
  assert.equal((await r.get('a'))?.region, 'us', 're-registration replaces the record');
});

test('registry: right after the start an unknown node is pending, then lost; a registered one is up', async () => {
  const started = 10_000;
  const r = new InMemoryNodeRegistry(1_000, started);
  assert.equal(await r.status('a', started + 1_999), 'pending', 'it may not have registered again yet');
  assert.equal(await r.status('a', started + 2_000), 'lost', 'twice the timeout after the start');
  assert.deepEqual(await r.healthy(started), [], 'a pending node is not selectable');
  await r.register(reg('a'), started + 500);
  assert.equal(await r.status('a', started + 600), 'up');
  assert.equal(await new InMemoryNodeRegistry(1_000).status('a', 0), 'lost', 'without a start time: lost at once');
});

test("selection: the participant's region first, within it the room's node, else least loaded", () => {
  const rec = (id: string, region: string, transports: number, workers = 1): MediaNodeRecord => ({
    ...reg(id, region, load(transports, workers)),
    registeredAt: 0,
    lastHeartbeatAt: 0,
  });
  const nodes = [rec('a', 'eu', 10), rec('b', 'eu', 2), rec('c', 'us', 0)];
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: [] })?.nodeId, 'c');
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: [], region: 'eu' })?.nodeId, 'b');
  assert.equal(
    stickyRegionLeastLoaded(nodes, { roomNodeIds: ['a'], region: 'us' })?.nodeId,
    'c',
    'a participant far away gets a node near them; media is piped',
  );
  assert.equal(
    stickyRegionLeastLoaded(nodes, { roomNodeIds: ['a'], region: 'eu' })?.nodeId,
    'a',
    'in the region, the room stays on its node',
  );
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: ['a'] })?.nodeId, 'a');
  assert.equal(stickyRegionLeastLoaded(nodes, { roomNodeIds: ['gone'], region: 'mars' })?.nodeId, 'c');
  assert.equal(
    stickyRegionLeastLoaded([rec('x', 'eu', 8, 4), rec('y', 'eu', 3, 1)], { roomNodeIds: [] })?.nodeId,
    'x',
    'load is per worker',
  );
  assert.equal(stickyRegionLeastLoaded([], { roomNodeIds: [] }), undefined);
});

test('constraints: operators and jurisdictions, EU expanded; a node without a jurisdiction never meets one', () => {
  const eu = expandJurisdictions(['EU', 'CH']);
  assert.equal(eu.length, 28);
  assert.ok(eu.includes('DE') && eu.includes('CH') && !eu.includes('US'));
  assert.equal(meetsConstraint({ operator: 'a', jurisdiction: 'DE' }, {}), true);
  assert.equal(meetsConstraint({ operator: 'a', jurisdiction: 'DE' }, { operators: ['a', 'b'] }), true);
  assert.equal(meetsConstraint({ operator: 'c', jurisdiction: 'DE' }, { operators: ['a', 'b'] }), false);
  assert.equal(meetsConstraint({ operator: 'a', jurisdiction: 'US' }, { jurisdictions: eu }), false);
  assert.equal(meetsConstraint({ operator: 'a' }, { jurisdictions: eu }), false);
  assert.equal(meetsConstraint({ operator: 'a', jurisdiction: 'FR' }, { operators: ['a'], jurisdictions: eu }), true);
});

test('node status: up, draining, lost by heartbeat timeout or unknown', async () => {
  const registry = new InMemoryNodeRegistry(1_000);
  await registry.register(reg('n1', 'eu', load(0, 1)), 10_000);
  await registry.register(reg('n2', 'eu', load(0, 1)), 10_000);
  assert.equal(await registry.status('n1', 10_500), 'up');
  assert.equal(
    await registry.status('n1', 11_001),
    'up',
    'both silent alike: the edge may have stalled, nobody is lost yet',
  );
  await registry.heartbeat('n2', load(0, 1), 10_900);
  assert.equal(await registry.status('n1', 11_001), 'lost', 'n1 silent for the timeout while n2 kept sending');
  assert.equal(await registry.status('n2', 11_001), 'up');
  assert.equal(await registry.status('n2', 12_901), 'lost', 'anyone silent for twice the timeout');
  assert.equal(await registry.status('nobody', 10_500), 'lost');
  await registry.heartbeat('n1', load(0, 1), 10_400);
  assert.equal(await registry.drain('n1'), true);
  assert.equal(await registry.drain('nobody'), false);
  assert.equal(await registry.status('n1', 10_500), 'draining');
  assert.deepEqual(
    (await registry.healthy(10_500)).map((n) => n.nodeId),
    ['n2'],
    'a draining node takes no new participants',
  );
  await registry.register(reg('n1', 'eu', load(0, 1)), 10_600);
  assert.equal(await registry.status('n1', 10_700), 'up', 'registering again ends the drain');
});
