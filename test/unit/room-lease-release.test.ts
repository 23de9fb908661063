import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KV } from '@nats-io/kv';
import { RoomLeases } from '../../edge/cluster/room-lease.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A KV bucket of one key whose update replies a test holds: what a release does while a renewal's answer
 * is on its way. delete with previousSeq fails unless it names the key's current revision, as JetStream's.
 */
function heldKv() {
  let revision = 0;
  let value: string | undefined;
  const held: (() => void)[] = [];
  const deletes: { previousSeq: number | undefined; ok: boolean }[] = [];
  /** Each write's revision and value: what the lease's check reads the first write after a revision of. */
  const messages: { seq: number; value: string }[] = [];
  const kv = {
    stream: 'KV_test',
    subjectForKey: (key: string) => `$KV.test.${key}`,
    jsm: {
      streams: {
        async getMessage(_stream: string, query: { seq: number }) {
          const m = messages.find((x) => x.seq >= query.seq);
          return m ? { seq: m.seq, string: () => m.value } : null;
        },
      },
    },
    async put(_key: string, v: string) {
      value = v;
      messages.push({ seq: ++revision, value: v });
      return revision;
    },
    async get() {
      return value === undefined ? null : { operation: 'PUT', revision, string: () => value as string };
    },
    // Applied as it is sent (NATS has it), answered only when the test lets the reply through.
    update(_key: string, v: string, previous: number) {
      if (previous !== revision) return Promise.reject(new Error('wrong last sequence'));
      value = v;
      const applied = ++revision;
      messages.push({ seq: applied, value: v });
      return new Promise<number>((resolve) => held.push(() => resolve(applied)));
    },
    async delete(_key: string, opts?: { previousSeq?: number }) {
      const ok = opts?.previousSeq === undefined || opts.previousSeq === revision;
      deletes.push({ previousSeq: opts?.previousSeq, ok });
      if (!ok) throw new Error('wrong last sequence');
      value = undefined;
      revision++;
    },
  };
  return { kv: kv as unknown as KV, held, deletes, revision: () => revision };
}

test('a release while a renewal is in flight deletes the key at the renewed revision', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const bucket = heldKv();
  const lease = await new RoomLeases(bucket.kv, 'edge-a', 3_000, quiet).acquire('room', () => {});
  assert.ok(lease);
  // The renewal is due at a third of the lease time: it is sent and the test holds its answer.
  t.mock.timers.tick(1_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(bucket.held.length, 1, 'a renewal is on its way');
  const released = lease.release();
  // The renewal's answer arrives after the release began.
  await new Promise((r) => setImmediate(r));
  bucket.held.shift()!();
  await released;
  assert.deepEqual(
    bucket.deletes.map((d) => d.ok),
    [true],
    'the delete named the renewed revision: the key is gone and the next owner may take it at once',
  );
});
