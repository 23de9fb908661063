import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomQueue } from '../../edge/core/room-queue.ts';
import { SnapshotSaver } from '../../edge/core/room/snapshot-saver.ts';

/** A task that logs its start and end and ends when `release` is called (or at once with `auto`). */
function gated(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const task = async () => {
    log.push(`start ${name}`);
    await gate;
    log.push(`end ${name}`);
    return name;
  };
  return { task, release };
}

/** Lets every queued promise reaction run. */
const drain = () => new Promise((r) => setImmediate(r));

test('exclusive tasks run one at a time, in order, past failures', async () => {
  const q = new RoomQueue();
  const log: string[] = [];
  let running = 0;
  const task =
    (name: string, fail = false) =>
    async () => {
      running++;
      assert.equal(running, 1, 'only one task at a time');
      log.push(`start ${name}`);
      await drain();
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([
    q.exclusive(task('a')),
    q.exclusive(task('b', true)),
    q.exclusive(task('c')),
  ]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});

test('lanes of different participants run side by side; one lane runs in order', async () => {
  const q = new RoomQueue();
  const log: string[] = [];
  const a1 = gated(log, 'a1');
  const a2 = gated(log, 'a2');
  const b1 = gated(log, 'b1');
  const done = Promise.all([q.lane('a', a1.task), q.lane('a', a2.task), q.lane('b', b1.task)]);
  await drain();
  assert.deepEqual(log, ['start a1', 'start b1'], 'b does not wait for a; a2 waits for a1');
  b1.release();
  await drain();
  assert.deepEqual(log, ['start a1', 'start b1', 'end b1']);
  a1.release();
  await drain();
  assert.deepEqual(log.slice(3), ['end a1', 'start a2']);
  a2.release();
  assert.deepEqual(await done, ['a1', 'a2', 'b1']);
});

test('an exclusive task waits for the lanes before it, and the lanes after it wait for it', async () => {
  const q = new RoomQueue();
  const log: string[] = [];
  const a1 = gated(log, 'a1');
  const b1 = gated(log, 'b1');
  const x = gated(log, 'x');
  const a2 = gated(log, 'a2');
  const c1 = gated(log, 'c1');
  const done = Promise.all([
    q.lane('a', a1.task),
    q.lane('b', b1.task),
    q.exclusive(x.task),
    q.lane('a', a2.task),
    q.lane('c', c1.task),
  ]);
  await drain();
  assert.deepEqual(log, ['start a1', 'start b1']);
  a1.release();
  await drain();
  assert.deepEqual(log, ['start a1', 'start b1', 'end a1'], 'x still waits for b1; c1, a new lane, waits for x');
  b1.release();
  await drain();
  assert.deepEqual(log.slice(3), ['end b1', 'start x']);
  x.release();
  await drain();
  assert.deepEqual(log.slice(5), ['end x', 'start a2', 'start c1']);
  a2.release();
  c1.release();
  await done;
});

test('a failed lane task fails only its own caller; its lane goes on', async () => {
  const q = new RoomQueue();
  const failed = q.lane('a', async () => {
    throw new Error('boom');
  });
  const next = q.lane('a', async () => 'next');
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'next');
  assert.equal(await q.exclusive(async () => 'after'), 'after');
});

test('changes of one turn share a save; changes made while one runs share the next', async () => {
  let state = 0;
  const writes: number[] = [];
  let release: (() => void) | undefined;
  const saver = new SnapshotSaver(async () => {
    const snapshot = state; // taken when the save starts, like RoomState.toSnapshot()
    await new Promise<void>((r) => (release = r));
    release = undefined;
    writes.push(snapshot);
  });
  const started = async () => {
    while (!release) await new Promise((r) => setImmediate(r));
    return release;
  };
  state = 1;
  const first = saver.save();
  state = 2;
  assert.equal(saver.save(), first, 'changes of the same turn wait for one save');
  const releaseFirst = await started();
  state = 3;
  const second = saver.save();
  state = 4;
  const third = saver.save();
  assert.notEqual(second, first, 'a change made while a save runs is not in it');
  assert.equal(second, third, 'changes during a running save wait for one next save');
  releaseFirst();
  await first;
  (await started())();
  await Promise.all([second, third]);
  assert.deepEqual(writes, [2, 4], 'two writes for four changes; each holds every change before it');
});

test('a failed save fails those who waited for it, and the next save runs', async () => {
  let fail = true;
  const saver = new SnapshotSaver(async () => {
    if (fail) throw new Error('store down');
  });
  await assert.rejects(saver.save(), /store down/);
  fail = false;
  await saver.save();
});
