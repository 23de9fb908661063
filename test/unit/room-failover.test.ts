/** Failover and drain decisions of the Room, over fake media nodes and sockets (test/support/fake-room.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HANDOVER_DEADLINE_MS } from '../../edge/core/room/failover.ts';
import { FakeNode, FakeRoom } from '../support/fake-room.ts';

/** Host and viewer on node a (the room stays on its node); node b waits as the spare. */
async function twoOnA(opts: ConstructorParameters<typeof FakeRoom>[0] = {}) {
  const r = new FakeRoom(opts);
  const a = r.nodes.add(new FakeNode('a', { jurisdiction: 'DE' }));
  const host = await r.publisher({ name: 'Host' });
  const viewer = await r.enter({ name: 'Viewer' });
  const b = r.nodes.add(new FakeNode('b', { jurisdiction: 'US', transports: 5 }));
  return { r, a, b, host, viewer };
}

test('a lost node: its participants get mediaMoved to another node, the others producerClosed; the node is told to close the room when it is back', async () => {
  const { r, a, b, host, viewer } = await twoOnA();
  a.status = 'lost';
  await r.room.sweep();
  assert.deepEqual(r.nodes.aborted, ['a'], 'calls in flight to the lost node are ended');
  for (const p of [host, viewer]) {
    const [moved] = p.socket.events('mediaMoved');
    assert.equal(moved.reason, 'nodeFailed');
    assert.equal(moved.routerRtpCapabilities.node, 'b');
  }
  assert.deepEqual(viewer.socket.events('producerClosed'), [{ participantId: host.id, producerId: host.producerId }]);
  assert.deepEqual(
    host.socket.events('producerClosed'),
    [],
    'the owner republishes; it is not told its own producer closed',
  );
  assert.equal(a.callsOf('closeRoom').length, 0, 'a lost node is not called');
  assert.equal(b.callsOf('ensureRouter').length, 1);
  // The transport limit starts afresh on the new node; the old transports are gone.
  assert.equal(
    await r.refused(host.socket, 'produce', {
      transportId: host.transportId,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000 }] },
    }),
    'NOT_FOUND',
  );
  await r.ok(host.socket, 'createTransport', { direction: 'send' });
  assert.equal(b.callsOf('createTransport').length, 1);

  a.status = 'up';
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'back: told to close what it still holds of the room');
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'once');
});

test('a draining node: make-before-break; the old media stays on it until everyone moved says mediaMoveDone', async () => {
  const { r, a, b, host, viewer } = await twoOnA();
  a.status = 'draining';
  await r.room.sweep();
  for (const p of [host, viewer]) {
    const [moved] = p.socket.events('mediaMoved');
    assert.equal(moved.reason, 'nodeDraining');
    assert.equal(moved.keepOld, true);
    assert.equal(moved.keepOldMs, HANDOVER_DEADLINE_MS, 'told how long the old media stays at most');
    assert.deepEqual(moved.staying, [], 'everyone moves: no producer stays as it is');
    assert.equal(moved.routerRtpCapabilities.node, 'b');
  }
  assert.deepEqual(viewer.socket.events('producerClosed'), [], 'the old producer keeps playing for now');
  assert.equal(a.callsOf('closeRoom').length, 0, 'the old media stays on the draining node');
  assert.deepEqual(r.nodes.aborted, [], 'a draining node is alive: nothing to abort');

  // The old producer has left the room's state: a newcomer is not offered it, nobody may consume it.
  const late = await r.enter({ name: 'Late' });
  assert.deepEqual(
    late.result.participants.find((p: { id: string }) => p.id === host.id).producers,
    [],
    'a newcomer does not see the old producer',
  );
  const recv = await r.ok(viewer.socket, 'createTransport', { direction: 'recv' });
  assert.equal(
    await r.refused(viewer.socket, 'consume', {
      transportId: recv.id,
      producerId: host.producerId,
      rtpCapabilities: { codecs: [] },
    }),
    'NOT_FOUND',
  );
  assert.equal(b.callsOf('createTransport').length, 1, 'the new transport is on the new node');

  await r.ok(host.socket, 'mediaMoveDone');
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 0, 'the viewer has not said it is done yet');
  assert.deepEqual(host.socket.events('oldMediaClosed'), []);

  await r.ok(viewer.socket, 'mediaMoveDone');
  assert.equal(a.callsOf('closeRoom').length, 1, 'everyone is done: the room closes on the old node');
  for (const p of [late, viewer])
    assert.deepEqual(p.socket.events('producerClosed'), [{ participantId: host.id, producerId: host.producerId }]);
  assert.deepEqual(host.socket.events('producerClosed'), [], 'the owner is not told about its own');
  for (const p of [host, viewer]) {
    assert.deepEqual(p.socket.events('oldMediaClosed'), [{}]);
    const frames = p.socket.frames.map((f) => f.event);
    assert.ok(frames.indexOf('mediaMoved') < frames.indexOf('oldMediaClosed'));
  }
  assert.deepEqual(late.socket.events('oldMediaClosed'), [], 'a newcomer had no old media');

  await r.ok(viewer.socket, 'mediaMoveDone');
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'said again or late, it changes nothing');
  assert.equal(viewer.socket.events('oldMediaClosed').length, 1);
});

test('a draining node: the handover ends at its deadline for participants that never say mediaMoveDone', async (t) => {
  const { r, a, viewer } = await twoOnA();
  a.status = 'draining';
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  await r.room.sweep();
  assert.ok(r.sweeps.includes(Date.now() + HANDOVER_DEADLINE_MS), 'a sweep is due at the deadline');
  t.mock.timers.tick(HANDOVER_DEADLINE_MS - 1);
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 0, 'not before the deadline');
  t.mock.timers.tick(1);
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'closed on the old node at the deadline');
  assert.equal(viewer.socket.events('oldMediaClosed').length, 1);
  assert.equal(viewer.socket.events('producerClosed').length, 1);
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'once');
});

test('a draining node that dies during the handover: the handover ends at once; the node is left behind', async () => {
  const { r, a, host } = await twoOnA();
  a.status = 'draining';
  await r.room.sweep();
  a.status = 'lost';
  a.unreachable = true;
  await r.room.sweep();
  assert.equal(host.socket.events('oldMediaClosed').length, 1);
  assert.equal(a.callsOf('closeRoom').length, 0, 'a lost node is not called (a frozen one would hold the room)');
  a.status = 'up';
  a.unreachable = false;
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'told once it is back');
});

test('a node whose link is silent (unresponsive): handed over make-before-break at once; lost, the handover ends without a call to it', async () => {
  const { r, a, b, host, viewer } = await twoOnA();
  a.status = 'unresponsive';
  await r.room.sweep();
  for (const p of [host, viewer]) {
    const [moved] = p.socket.events('mediaMoved');
    assert.equal(moved.keepOld, true, 'the old media keeps playing if the node still forwards it');
    assert.equal(moved.routerRtpCapabilities.node, 'b');
  }
  assert.deepEqual(viewer.socket.events('producerClosed'), [], 'the old producer is not closed yet');
  assert.deepEqual(r.nodes.aborted, [], 'perhaps only slow: its calls are not aborted');
  await r.ok(host.socket, 'createTransport', { direction: 'send' });
  assert.equal(b.callsOf('createTransport').length, 1, 'new media goes to the other node');

  // The health check's verdict: lost. The handover ends at once; the frozen node is not called.
  a.status = 'lost';
  a.unreachable = true;
  const before = a.calls.length;
  await r.room.sweep();
  for (const p of [host, viewer]) assert.deepEqual(p.socket.events('oldMediaClosed'), [{}]);
  assert.deepEqual(viewer.socket.events('producerClosed'), [{ participantId: host.id, producerId: host.producerId }]);
  assert.deepEqual(a.calls.slice(before), [], 'nothing asked of the lost node');
  a.status = 'up';
  a.unreachable = false;
  await r.room.sweep();
  assert.equal(a.callsOf('closeRoom').length, 1, 'told to close the room once it is back');
});

test('a node whose link is silent but that answers: the handover runs to its end and the room closes there', async () => {
  const { r, a, host, viewer } = await twoOnA();
  a.status = 'unresponsive';
  await r.room.sweep();
  a.status = 'up';
  await r.room.sweep();
  assert.equal(host.socket.events('mediaMoved').length, 1, 'moved once');
  assert.equal(a.callsOf('closeRoom').length, 0, 'the old media stays until the switch-over');
  await r.ok(host.socket, 'mediaMoveDone');
  await r.ok(viewer.socket, 'mediaMoveDone');
  assert.equal(a.callsOf('closeRoom').length, 1, 'everyone switched: the room closes on the old node');
  assert.equal(viewer.socket.events('oldMediaClosed').length, 1);
});

test('a node whose link is silent, and no other node may take its participants: nobody moves before the verdict', async () => {
  const r = new FakeRoom();
  const a = r.nodes.add(new FakeNode('a', { jurisdiction: 'DE' }));
  const host = await r.publisher({ name: 'Host' });
  r.nodes.add(new FakeNode('b', { jurisdiction: 'US' })).status = 'draining';
  a.status = 'unresponsive';
  await r.room.sweep();
  assert.deepEqual(host.socket.events('mediaMoved'), []);
  assert.deepEqual(host.socket.events('mediaUnavailable'), [], 'its media may still flow: nobody is cut off');
  a.status = 'up';
  await r.room.sweep();
  assert.deepEqual(host.socket.events('mediaMoved'), [], 'it answered: the room stays');
});

test('a draining node: a room spread over two nodes keeps its pipes to the old node until the handover ends', async () => {
  const r = new FakeRoom();
  const a = r.nodes.add(new FakeNode('a', { region: 'north' }));
  const c = r.nodes.add(new FakeNode('c', { region: 'south', transports: 1 }));
  const north = await r.publisher({ name: 'North', region: 'north' });
  const south = await r.publisher({ name: 'South', region: 'south' });
  const recv = await r.ok(south.socket, 'createTransport', { direction: 'recv' });
  await r.ok(south.socket, 'consume', {
    transportId: recv.id,
    producerId: north.producerId,
    rtpCapabilities: { codecs: [] },
  });
  assert.equal(c.callsOf('pipeProduce').length, 1, 'north is piped to c');
  const b = r.nodes.add(new FakeNode('b', { region: 'north', transports: 2 }));
  a.status = 'draining';
  await r.room.sweep();
  const [moved] = north.socket.events('mediaMoved');
  assert.deepEqual(moved.staying, [south.producerId], 'south stays as it is: consume it again on b');
  assert.deepEqual(south.socket.events('mediaMoved'), [], 'south does not move');
  assert.equal(c.callsOf('closePipe').length, 0, 'south still receives the old producer through the pipe');
  await r.ok(north.socket, 'mediaMoveDone');
  assert.deepEqual(south.socket.events('producerClosed'), [{ participantId: north.id, producerId: north.producerId }]);
  assert.equal(c.callsOf('closePipe').length, 1, 'then the pipe to the old node closes');
  assert.equal(a.callsOf('closeRoom').length, 1);
  assert.equal(b.callsOf('ensureRouter').length, 1);
});

test('a draining node: someone who leaves during the handover is closed on the old node; an empty room ends it', async () => {
  const { r, a, host, viewer } = await twoOnA();
  a.status = 'draining';
  await r.room.sweep();
  await r.ok(viewer.socket, 'leave');
  assert.equal(a.callsOf('closeParticipant').length, 1, "the viewer's old media goes at once");
  assert.equal(a.callsOf('closeRoom').length, 0, 'the host may still be switching over');
  await r.ok(host.socket, 'leave');
  assert.equal(a.callsOf('closeRoom').length, 1, 'an empty room leaves the old node');
});

test('no node may carry them: mediaUnavailable, then mediaMoved once a node is back', async () => {
  const { r, a, b, host, viewer } = await twoOnA({ mediaConstraint: { jurisdictions: ['DE'] } });
  a.status = 'lost';
  await r.room.sweep();
  assert.deepEqual(
    host.socket.events('mediaUnavailable'),
    [
      {
        code: 'CONSTRAINT_UNMET',
        message: 'no media node that this meeting may use is available (it requires jurisdiction DE)',
      },
    ],
    'b is up, but in the wrong jurisdiction',
  );
  assert.equal(b.callsOf('ensureRouter').length, 0);
  assert.equal(
    await r.refused(viewer.socket, 'consume', {
      transportId: 'x',
      producerId: host.producerId,
      rtpCapabilities: { codecs: [] },
    }),
    'NOT_FOUND',
  );
  await r.room.sweep();
  assert.equal(host.socket.events('mediaUnavailable').length, 1, 'said once');

  const c = r.nodes.add(new FakeNode('c', { jurisdiction: 'DE' }));
  await r.room.sweep();
  assert.equal(host.socket.events('mediaMoved')[0].routerRtpCapabilities.node, 'c');
  assert.equal(viewer.socket.events('mediaMoved').length, 1);
  assert.equal(c.callsOf('ensureRouter').length, 1);

  b.status = 'lost';
  c.status = 'lost';
  const late = await r.join({ name: 'Late' });
  assert.equal(late.reply.error?.code, 'NO_MEDIA_NODE', 'no node up at all');
});

test('a node that fails a control call and its health check is lost at the next sweep, without waiting for its heartbeat', async () => {
  const { r, a, host } = await twoOnA();
  a.unreachable = true;
  const before = Date.now();
  assert.equal(await r.refused(host.socket, 'createTransport', { direction: 'recv' }), 'MEDIA_NODE_ERROR');
  assert.ok(
    r.sweeps.some((at) => at >= before && at <= Date.now()),
    'the sweep is due at once',
  );
  await r.room.sweep();
  assert.equal(host.socket.events('mediaMoved')[0].routerRtpCapabilities.node, 'b');
});

test('a suspect that answers its health check stays', async () => {
  const { r, a, host } = await twoOnA();
  a.unreachable = true;
  await r.refused(host.socket, 'createTransport', { direction: 'recv' });
  a.unreachable = false;
  await r.room.sweep();
  assert.deepEqual(host.socket.events('mediaMoved'), []);
});

test("node events: only a node's own participants' producers are believed", async () => {
  const { r, host, viewer } = await twoOnA();
  await r.room.onNodeEvent('a', { type: 'producerScore', producerId: host.producerId, score: 7 });
  await r.room.onNodeEvent('b', { type: 'producerScore', producerId: host.producerId, score: 1 });
  await r.room.onNodeEvent('a', { type: 'activeSpeaker', producerId: host.producerId });
  await r.room.onNodeEvent('a', { type: 'activeSpeaker', producerId: null });
  assert.deepEqual(viewer.socket.events('producerScore'), [
    { participantId: host.id, producerId: host.producerId, score: 7 },
  ]);
  assert.deepEqual(viewer.socket.events('activeSpeaker'), [{ participantId: host.id }, { participantId: null }]);
});

test('a pending node (unknown to an edge that has just restarted): nobody moves; once lost, the room moves', async () => {
  const { r, a, host, viewer } = await twoOnA();
  a.status = 'pending';
  await r.room.sweep();
  for (const p of [host, viewer]) assert.deepEqual(p.socket.events('mediaMoved'), [], 'its media stays where it is');
  assert.deepEqual(r.nodes.aborted, [], 'nothing aborted');
  a.status = 'lost';
  await r.room.sweep();
  assert.equal(host.socket.events('mediaMoved')[0].reason, 'nodeFailed');
});
