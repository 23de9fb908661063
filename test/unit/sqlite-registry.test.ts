import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateDb } from '../../edge/node/state-db.ts';
import { SqliteNodeRegistry } from '../../edge/node/sqlite-registry.ts';

const load = (transports = 0) => ({ workers: 1, routers: 0, transports, producers: 0, consumers: 0 });
const reg = (nodeId: string) => ({
  nodeId,
  controlUrl: `http://127.0.0.1:4000`,
  region: 'eu',
  operator: 'op',
  load: load(),
});
const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('sqlite registry: a restarted edge knows its nodes at once, with a fresh heartbeat timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.db');
  const timeout = 1_000;

  const db1 = openStateDb(file);
  const before = new SqliteNodeRegistry(db1, timeout, silent, 0);
  await before.register(reg('a'), 0);
  await before.register(reg('b'), 0);
  assert.equal(await before.heartbeat('a', load(7), 500), true);
  assert.equal(await before.drain('b'), true);
  db1.close(); // the edge is gone (kill -9 closes nothing; WAL keeps every commit)

  // The edge comes back 30 s later: longer than twice the timeout.
  const db2 = openStateDb(file);
  const after = new SqliteNodeRegistry(db2, timeout, silent, 30_500);
  assert.equal(await after.status('a', 30_600), 'up', 'not lost: the edge was away, not the node');
  assert.equal((await after.get('a'))?.load.transports, 7, 'the last load is kept');
  assert.equal(await after.status('b', 30_600), 'draining', 'a drain survives the restart');
  assert.equal(await after.heartbeat('a', load(1), 31_000), true, 'heartbeats go on without a re-registration');
  assert.equal(await after.status('a', 34_000), 'lost', 'a node that stays silent is lost as before');
  db2.close();
});

test('sqlite registry: a record it cannot read is dropped with a warning, the rest load', async () => {
  const db = openStateDb(':memory:');
  const warned: string[] = [];
  const first = new SqliteNodeRegistry(db, 1_000, silent, 0);
  await first.register(reg('a'), 0);
  db.prepare('INSERT INTO media_nodes (node_id, record) VALUES (?, ?)').run('bad', '{"nodeId": 5}');
  const second = new SqliteNodeRegistry(
    db,
    1_000,
    { ...silent, warn: (_f: object, m: string) => void warned.push(m) },
    0,
  );
  assert.ok(await second.get('a'));
  assert.equal(await second.get('bad'), undefined);
  assert.deepEqual(warned, ['unreadable media node record in the state file, dropped']);
});

test('sqlite registry: a node the node link found lost stays lost across a restart, until it registers again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.db');
  const db1 = openStateDb(file);
  const before = new SqliteNodeRegistry(db1, 60_000, silent, 0);
  const heard: string[] = [];
  before.onLeave((nodeId, why) => heard.push(`${nodeId} ${why}`));
  await before.register(reg('a'), 0);
  assert.equal(await before.lose('a', 'link closed', 100), true);
  assert.deepEqual(heard, ['a lost']);
  db1.close();

  const db2 = openStateDb(file);
  const after = new SqliteNodeRegistry(db2, 60_000, silent, 200);
  t.after(() => db2.close());
  assert.equal(await after.status('a', 300), 'lost', 'within the heartbeat timeout, and still lost');
  assert.equal(await after.heartbeat('a', load(), 400), false, 'its heartbeat is refused: it registers again');
  await after.register(reg('a'), 500);
  assert.equal(await after.status('a', 600), 'up');
});
