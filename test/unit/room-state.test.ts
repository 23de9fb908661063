import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomState } from '../../edge/core/room/state.ts';
import type { TreffpunktError } from '../../shared/errors.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as TreffpunktError).code;
  }
  return 'no error';
};

test('participants join and leave; each carries its media node', () => {
  const room = new RoomState('r', 10);
  room.addParticipant({
    id: 'a',
    name: 'A',
    nodeId: 'n1',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  room.addParticipant({
    id: 'b',
    name: 'B',
    nodeId: 'n2',
    joinedAt: 2,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  assert.equal(room.size, 2);
  assert.deepEqual(room.nodeIds().sort(), ['n1', 'n2']);
  assert.deepEqual(
    room.others('a').map((p) => p.id),
    ['b'],
  );
  assert.equal(room.removeParticipant('a')?.name, 'A');
  assert.equal(room.removeParticipant('a'), undefined);
  assert.deepEqual(room.nodeIds(), ['n2']);
});

test('capacity is enforced and duplicate ids refused', () => {
  const room = new RoomState('r', 1);
  room.addParticipant({
    id: 'a',
    name: 'A',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  assert.equal(
    code(() =>
      room.addParticipant({
        id: 'b',
        name: 'B',
        nodeId: 'n',
        joinedAt: 1,
        role: 'participant',
        verified: false,
        resumeHash: 'h',
      }),
    ),
    'ROOM_FULL',
  );
  const big = new RoomState('r', 5);
  big.addParticipant({
    id: 'a',
    name: 'A',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  assert.equal(
    code(() =>
      big.addParticipant({
        id: 'a',
        name: 'A',
        nodeId: 'n',
        joinedAt: 1,
        role: 'participant',
        verified: false,
        resumeHash: 'h',
      }),
    ),
    'ALREADY_JOINED',
  );
});

test('transports, producers and consumers belong to their participant', () => {
  const room = new RoomState('r', 5);
  room.addParticipant({
    id: 'a',
    name: 'A',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  room.addParticipant({
    id: 'b',
    name: 'B',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  room.addTransport('a', 'ta', 'send');
  room.addTransport('b', 'tb', 'recv');
  room.requireTransport('a', 'ta', 'send');
  assert.equal(
    code(() => room.requireTransport('a', 'ta', 'recv')),
    'NOT_FOUND',
  );
  assert.equal(
    code(() => room.requireTransport('a', 'tb')),
    'NOT_FOUND',
  );
  room.addProducer('a', 'pa', { kind: 'video', source: 'camera', paused: false });
  assert.equal(room.producerOwner('pa').id, 'a');
  assert.deepEqual(room.others('b')[0]?.producers, [{ id: 'pa', kind: 'video', source: 'camera', paused: false }]);
  assert.equal(
    code(() => room.removeProducer('b', 'pa')),
    'NOT_FOUND',
  );
  room.addConsumer('b', 'cb', 'pa');
  assert.equal(
    code(() => room.requireConsumer('a', 'cb')),
    'NOT_FOUND',
  );
  assert.equal(room.consumerOf('b', 'pa'), 'cb');
  room.removeProducer('a', 'pa');
  assert.equal(
    code(() => room.producerOwner('pa')),
    'NOT_FOUND',
  );
  // The node closed the consumer with its producer: it no longer counts against b's consumer limit.
  assert.equal(room.participant('b').consumers.size, 0);
  assert.equal(
    code(() => room.requireConsumer('b', 'cb')),
    'NOT_FOUND',
  );
  assert.equal(
    code(() => room.participant('zz')),
    'NOT_JOINED',
  );
});

test('consumers of a leaving participant’s producers are forgotten; old snapshots load', () => {
  const room = new RoomState('r', 5);
  room.addParticipant({
    id: 'a',
    name: 'A',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: true,
    resumeHash: 'h',
  });
  room.addParticipant({
    id: 'b',
    name: 'B',
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    verified: false,
    resumeHash: 'h',
  });
  room.addProducer('a', 'pa', { kind: 'audio', source: 'microphone', paused: false });
  room.addConsumer('b', 'cb', 'pa');
  assert.equal(room.others('b')[0]?.verified, true);
  assert.equal(room.others('a')[0]?.verified, false);
  room.removeParticipant('a');
  assert.equal(room.participant('b').consumers.size, 0);
  // A snapshot written before names were marked and consumers tied to producers.
  const old = RoomState.fromSnapshot('r', 5, {
    participants: [
      {
        id: 'c',
        name: 'C',
        nodeId: 'n',
        joinedAt: 1,
        role: 'guest',
        handRaised: false,
        resumeHash: 'h',
        transports: [],
        producers: [],
        consumers: ['c1'],
      },
    ],
    lobby: [],
    locked: false,
    routerCaps: [],
  });
  assert.equal(old.participant('c').verified, false);
  old.requireConsumer('c', 'c1');
});

test('removal bars run out; the holder of a token identity is found in the room and in the lobby', () => {
  const room = new RoomState('r', 10);
  room.bar('id-x', 1_000);
  room.bar('id-y', 5_000);
  assert.equal(room.isBarred('id-x', 999), true);
  assert.equal(room.isBarred('id-z', 999), false);
  assert.equal(room.pruneBars(1_000), 5_000, 'the next bar runs out at 5000');
  assert.equal(room.isBarred('id-x', 1_000), false);
  assert.equal(room.pruneBars(5_000), Infinity);
  assert.equal(room.barred.size, 0);
  room.addParticipant({
    id: 'a',
    name: 'A',
    verified: true,
    nodeId: 'n',
    joinedAt: 1,
    role: 'participant',
    resumeHash: 'h',
    identity: 'id-a',
  });
  room.addToLobby({ id: 'w', name: 'W', role: 'guest', since: 1, identity: 'id-w' });
  assert.equal(room.holderOf('id-a')?.participant?.id, 'a');
  assert.equal(room.holderOf('id-w')?.waiting?.id, 'w');
  assert.equal(room.holderOf('id-b'), undefined);
  // The identity is part of the snapshot: a restored room still knows whose token is in use.
  assert.equal(RoomState.fromSnapshot('r', 10, room.toSnapshot()).holderOf('id-a')?.participant?.id, 'a');
});
