/** The owner's save gate (edge/cluster/save-gate.ts) with changes that overlap (participants' lanes). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaveGate } from '../../edge/cluster/save-gate.ts';
import type { RoomSnapshot, RoomStore } from '../../edge/core/room/store.ts';

/** A store whose saves end when the test says so. */
function slowStore() {
  const pending: (() => void)[] = [];
  const store: RoomStore = {
    load: async () => undefined,
    save: () => new Promise<void>((resolve) => pending.push(resolve)),
  };
  return { store, landNext: () => pending.shift()?.() };
}

const settle = () => new Promise((r) => setImmediate(r));

test('overlapping changes: a save lets out what waited when it began; the rest waits for its own save', async () => {
  const gate = new SaveGate();
  const { store, landNext } = slowStore();
  const gated = gate.around(store);
  const sent: string[] = [];
  const event = (name: string) => gate.pass(`{"event":"${name}"}`, () => sent.push(name));

  gated.changing!(); // lane A
  gated.changing!(); // lane B
  event('a1');
  const saveA = gated.save({} as RoomSnapshot); // A's save: its snapshot holds a1
  event('b1'); // B's change, after A's snapshot was taken
  gate.pass('{"id":7,"ok":true}', () => sent.push('reply'));
  assert.deepEqual(sent, ['reply'], 'replies are never held');
  landNext();
  await saveA;
  gated.changed!();
  assert.deepEqual(sent, ['reply', 'a1'], 'b1 waits: A’s save does not hold it');
  const saveB = gated.save({} as RoomSnapshot);
  landNext();
  await saveB;
  assert.deepEqual(sent, ['reply', 'a1', 'b1']);
  gated.changed!();
  event('after');
  assert.deepEqual(sent, ['reply', 'a1', 'b1', 'after'], 'no change under way: at once');
});

test('a change that saved nothing new lets out what still waits when it is the last one', async () => {
  const gate = new SaveGate();
  const { store } = slowStore();
  const gated = gate.around(store);
  const sent: string[] = [];
  gated.changing!();
  gate.pass('{"event":"chat"}', () => sent.push('chat'));
  await settle();
  assert.deepEqual(sent, []);
  gated.changed!(); // its snapshot was already saved (SnapshotSaver wrote nothing)
  assert.deepEqual(sent, ['chat']);
});
