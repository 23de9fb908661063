/** Failover and drain decisions of the Room, over fake media nodes and sockets (test/support/fake-room.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('a draining node: the room moves off at once and closes itself on the old node', async () => {
  const { r, a, host } = await twoOnA();
  a.status = 'draining';
  await r.room.sweep();
  assert.equal(host.socket.events('mediaMoved')[0].reason, 'nodeDraining');
  assert.equal(a.callsOf('closeRoom').length, 1);
  assert.deepEqual(r.nodes.aborted, [], 'a draining node is alive: nothing to abort');
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
