/**
 * Node selection: the strategy (edge/core/node-selection.ts) and what MediaNodes.select puts around it
 * (only healthy nodes, the room's constraint, the node being left excluded). See also node-registry.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TreffpunktError } from '../../shared/errors.ts';
import { MediaNodes } from '../../edge/core/media-nodes.ts';
import { InMemoryNodeRegistry, type MediaNodeRecord } from '../../edge/core/node-registry.ts';
import { loadScore, stickyRegionLeastLoaded } from '../../edge/core/node-selection.ts';

const load = (transports = 0, workers = 1, producers = 0, consumers = 0) => ({
  workers,
  routers: 0,
  transports,
  producers,
  consumers,
});
const rec = (nodeId: string, region: string, transports = 0, workers = 1): MediaNodeRecord => ({
  nodeId,
  controlUrl: `http://${nodeId}:4000`,
  region,
  operator: 'op',
  load: load(transports, workers),
  registeredAt: 0,
  lastHeartbeatAt: 0,
});
const pick = (nodes: MediaNodeRecord[], request: { roomNodeIds: string[]; region?: string }) =>
  stickyRegionLeastLoaded(nodes, request)?.nodeId;

test('strategy: least loaded, ties broken by node id whatever the order of the candidates', () => {
  assert.equal(pick([rec('b', 'eu', 3), rec('a', 'eu', 3), rec('c', 'eu', 4)], { roomNodeIds: [] }), 'a');
  assert.equal(pick([rec('c', 'eu', 4), rec('a', 'eu', 3), rec('b', 'eu', 3)], { roomNodeIds: [] }), 'a');
  assert.equal(
    loadScore({ ...rec('x', 'eu'), load: load(2, 0, 3, 5) }),
    10,
    'a node reporting no workers counts as one',
  );
  assert.equal(
    loadScore({ ...rec('x', 'eu'), load: load(2, 2, 3, 5) }),
    5,
    'transports, producers and consumers per worker',
  );
});

test("strategy: the room's own node beats a less loaded one; of several, the least loaded of them", () => {
  const nodes = [rec('busy', 'eu', 50), rec('idle', 'eu', 0), rec('mid', 'eu', 20)];
  assert.equal(pick(nodes, { roomNodeIds: ['busy'] }), 'busy', 'fewer pipes matter more than load');
  assert.equal(pick(nodes, { roomNodeIds: ['busy', 'mid'] }), 'mid');
  assert.equal(pick(nodes, { roomNodeIds: ['gone'] }), 'idle', 'a room node that is not a candidate does not count');
});

test("strategy: the participant's region beats the room's node elsewhere; no node in the region: the room's node", () => {
  const nodes = [rec('eu1', 'eu', 0), rec('us1', 'us', 9), rec('us2', 'us', 1)];
  assert.equal(pick(nodes, { roomNodeIds: ['eu1'], region: 'us' }), 'us2');
  assert.equal(pick(nodes, { roomNodeIds: ['eu1', 'us1'], region: 'us' }), 'us1', "in the region, the room's node");
  assert.equal(pick(nodes, { roomNodeIds: ['us1'], region: 'ap' }), 'us1');
  assert.equal(pick(nodes, { roomNodeIds: [], region: 'ap' }), 'eu1');
});

async function mediaNodes(
  nodes: { id: string; region?: string; operator?: string; jurisdiction?: string; transports?: number }[],
  watch?: { unresponsive(nodeId: string): boolean },
) {
  const registry = new InMemoryNodeRegistry(60_000);
  for (const n of nodes) {
    await registry.register(
      {
        nodeId: n.id,
        controlUrl: `http://${n.id}.invalid:4000`,
        region: n.region ?? 'eu',
        operator: n.operator ?? 'op',
        ...(n.jurisdiction ? { jurisdiction: n.jurisdiction } : {}),
        load: load(n.transports ?? 0),
      },
      Date.now(),
    );
  }
  const secrets = new Map(nodes.map((n) => [n.id, [`secret-of-${n.id}`]]));
  return {
    registry,
    nodes: new MediaNodes(registry, secrets, stickyRegionLeastLoaded, 60, undefined, undefined, undefined, watch),
  };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (err: TreffpunktError) => err.code,
  );

test("select: only nodes that meet the room's constraint; CONSTRAINT_UNMET when others are up, NO_MEDIA_NODE when none is", async () => {
  const { nodes } = await mediaNodes([
    { id: 'de1', operator: 'a', jurisdiction: 'DE', transports: 9 },
    { id: 'us1', operator: 'a', jurisdiction: 'US' },
    { id: 'fr1', operator: 'b', jurisdiction: 'FR', transports: 5 },
  ]);
  assert.equal((await nodes.select({ roomNodeIds: [], constraint: {} })).nodeId, 'us1');
  assert.equal((await nodes.select({ roomNodeIds: [], constraint: { jurisdictions: ['DE', 'FR'] } })).nodeId, 'fr1');
  assert.equal(
    (await nodes.select({ roomNodeIds: [], constraint: { jurisdictions: ['DE', 'FR'], operators: ['a'] } })).nodeId,
    'de1',
  );
  assert.equal(
    (await nodes.select({ roomNodeIds: ['us1'], constraint: { jurisdictions: ['DE'] } })).nodeId,
    'de1',
    "the room's node does not win if the constraint forbids it",
  );
  assert.equal(await codeOf(nodes.select({ roomNodeIds: [], constraint: { operators: ['c'] } })), 'CONSTRAINT_UNMET');

  const { nodes: none } = await mediaNodes([]);
  assert.equal(await codeOf(none.select({ roomNodeIds: [], constraint: { operators: ['c'] } })), 'NO_MEDIA_NODE');
  assert.equal(await codeOf(none.select({ roomNodeIds: [], constraint: {} })), 'NO_MEDIA_NODE');
});

test('select: the node being left is excluded, and a draining node takes no one', async () => {
  const { nodes, registry } = await mediaNodes([{ id: 'a' }, { id: 'b', transports: 10 }, { id: 'c', transports: 20 }]);
  assert.equal((await nodes.select({ roomNodeIds: ['a'], constraint: {}, exclude: ['a'] })).nodeId, 'b');
  await registry.drain('b');
  assert.equal((await nodes.select({ roomNodeIds: ['a'], constraint: {}, exclude: ['a'] })).nodeId, 'c');
  assert.equal(await codeOf(nodes.select({ roomNodeIds: [], constraint: {}, exclude: ['a', 'c'] })), 'NO_MEDIA_NODE');
});

test('a node whose link is silent: unresponsive for the rooms, and new participants go elsewhere while another may take them', async () => {
  const silentNodes = new Set(['a']);
  const { nodes } = await mediaNodes([{ id: 'a' }, { id: 'b', transports: 10 }], {
    unresponsive: (id) => silentNodes.has(id),
  });
  assert.equal(await nodes.status('a'), 'unresponsive');
  assert.equal(await nodes.status('b'), 'up');
  assert.equal((await nodes.select({ roomNodeIds: ['a'], constraint: {} })).nodeId, 'b', "not even the room's node");
  assert.equal(
    (await nodes.select({ roomNodeIds: [], constraint: {}, exclude: ['b'] })).nodeId,
    'a',
    'the only node left: better perhaps slow than none',
  );
  silentNodes.clear();
  assert.equal(await nodes.status('a'), 'up');
  assert.equal((await nodes.select({ roomNodeIds: ['a'], constraint: {} })).nodeId, 'a');
});
