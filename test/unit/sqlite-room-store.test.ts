/** Room snapshots in the Node edge's state file: what a room saves is what a restarted edge loads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomState } from '../../edge/core/room/state.ts';
import { SqliteRoomSnapshots } from '../../edge/node/sqlite-room-store.ts';
import { openStateDb } from '../../edge/node/state-db.ts';

test('a snapshot survives closing and reopening the file; an empty room deletes its row', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'treffpunkt-state-'));
  try {
    const file = join(dir, 'nested', 'edge-state.sqlite');
    const state = new RoomState('daily', 10);
    state.routers.remember('node-a', { codecs: [], headerExtensions: [] });
    state.setLocked(true);
    state.addParticipant({
      id: 'p1',
      name: 'Ada',
      nodeId: 'node-a',
      joinedAt: 1,
      role: 'moderator',
      verified: true,
      resumeHash: 'hash',
    });
    state.addTransport('p1', 't1', 'send');
    state.addConsumer('p1', 'c1', 'prod-x');
    const first = openStateDb(file);
    const store = new SqliteRoomSnapshots(first).store('daily');
    await store.save(state.toSnapshot());
    await new SqliteRoomSnapshots(first).store('other').save(state.toSnapshot());
    first.close();

    const again = openStateDb(file);
    const table = new SqliteRoomSnapshots(again);
    assert.deepEqual(table.rooms(), ['daily', 'other']);
    const loaded = await table.store('daily').load();
    assert.ok(loaded);
    const restored = RoomState.fromSnapshot('daily', 10, loaded);
    assert.equal(restored.locked, true);
    assert.equal(restored.participant('p1').name, 'Ada');
    assert.deepEqual(restored.toSnapshot(), state.toSnapshot(), 'the same state, field for field');
    await table.store('daily').save(undefined);
    assert.equal(await table.store('daily').load(), undefined);
    assert.deepEqual(table.rooms(), ['other']);
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
