/** The relaying edge's in-order, exactly-once delivery of an owner's numbered frames (relay-inbox.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HELD_FRAMES, RelayInbox } from '../../edge/cluster/relay-inbox.ts';

test('frames are delivered once and in order: a duplicate is dropped, an early one waits for the gap', () => {
  const inbox = new RelayInbox<string>();
  inbox.bind('s1', 0);
  assert.deepEqual(inbox.take('s1', 1, 'a', 0).ready, ['a']);
  const early = inbox.take('s1', 3, 'c', 1);
  assert.deepEqual(early.ready, []);
  assert.equal(early.ack, 1, 'the ack says how far it is contiguous');
  assert.equal(inbox.gapSince, 1);
  const filled = inbox.take('s1', 2, 'b', 2);
  assert.deepEqual(filled.ready, ['b', 'c']);
  assert.equal(filled.ack, 3);
  assert.equal(inbox.gapSince, undefined);
  const again = inbox.take('s1', 2, 'b', 3);
  assert.deepEqual(again.ready, [], 'a resent frame is not delivered twice');
  assert.equal(again.ack, 3, 'but acked again (its ack was lost)');
});

test('frames of a stream not bound yet wait until the open binds it', () => {
  const inbox = new RelayInbox<string>();
  assert.deepEqual(inbox.take('s1', 2, 'b', 0).ready, []);
  assert.deepEqual(inbox.take('s1', 1, 'a', 0).ready, []);
  const bound = inbox.bind('s1', 0);
  assert.deepEqual(bound.ready, ['a', 'b']);
  assert.equal(bound.ack, 2);
  assert.deepEqual(inbox.bind('s1', 0).ready, [], 'the same stream again goes on where it was');
  assert.deepEqual(inbox.take('s1', 3, 'c', 0).ready, ['c']);
});

test('a gap left open when the next stream is bound is a loss', () => {
  const inbox = new RelayInbox<string>();
  inbox.bind('s1', 0);
  inbox.take('s1', 2, 'b', 0);
  assert.equal(inbox.bind('s2', 0).lost, true);
  assert.deepEqual(inbox.take('s2', 1, 'x', 0).ready, ['x'], 'the new stream counts from 1');
});

test('the previous stream is still taken, in its own order', () => {
  const inbox = new RelayInbox<string>();
  inbox.bind('old', 0);
  inbox.take('old', 1, 'a', 0);
  assert.equal(inbox.bind('new', 0).lost, false);
  assert.deepEqual(inbox.take('old', 3, 'c', 0).ready, [], 'not the next of the old stream');
  assert.deepEqual(inbox.take('old', 2, 'b', 0).ready, ['b']);
  assert.deepEqual(inbox.take('old', 2, 'b', 0).ready, []);
  assert.ok(inbox.knows('old') && inbox.knows('new') && !inbox.knows('other'));
});

test('holding more than the bound after a gap is a loss', () => {
  const inbox = new RelayInbox<number>();
  inbox.bind('s1', 0);
  let lost = false;
  for (let seq = 2; seq <= MAX_HELD_FRAMES + 2; seq++) lost ||= inbox.take('s1', seq, seq, 0).lost;
  assert.equal(lost, true);
});
