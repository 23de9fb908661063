/** Moderators' actions and the media requests they act on, over fake media nodes and sockets (test/support/fake-room.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '../../shared/signaling.ts';
import { FakeNode, FakeRoom } from '../support/fake-room.ts';

const OPUS_CAPS = {
  codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  headerExtensions: [],
};

function roomWithNode(opts: ConstructorParameters<typeof FakeRoom>[0] = {}) {
  const r = new FakeRoom({ tokens: true, ...opts });
  const node = r.nodes.add(new FakeNode('n1'));
  return { r, node };
}

test("mute: the target's producers of that source pause on the node, everyone is told, the target gets mutedByModerator", async () => {
  const { r, node } = roomWithNode();
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  const pia = await r.publisher({ token: 'participant:Pia:id-p' });
  const cam = await r.ok(pia.socket, 'produce', {
    transportId: pia.transportId,
    kind: 'video',
    source: 'camera',
    rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }] },
  });
  await r.ok(mod.socket, 'muteParticipant', { participantId: pia.id, source: 'microphone' });
  assert.deepEqual(
    node.callsOf('setProducerPaused').map((c) => [c.path, c.body]),
    [[`/v1/rooms/room-1/producers/${pia.producerId}/pause`, { paused: true }]],
    'the camera plays on',
  );
  assert.deepEqual(mod.socket.events('producerPaused'), [
    { participantId: pia.id, producerId: pia.producerId, paused: true },
  ]);
  assert.deepEqual(
    pia.socket.events('producerPaused'),
    [{ participantId: pia.id, producerId: pia.producerId, paused: true }],
    'the target sees it too',
  );
  assert.deepEqual(pia.socket.events('mutedByModerator'), [{ source: 'microphone' }]);
  await r.ok(mod.socket, 'muteParticipant', { participantId: pia.id, source: 'microphone' });
  assert.equal(node.callsOf('setProducerPaused').length, 1, 'a paused producer is not paused again');
  assert.ok(cam.producerId);

  assert.equal(
    await r.refused(pia.socket, 'muteParticipant', { participantId: mod.id, source: 'microphone' }),
    'FORBIDDEN',
  );
  assert.equal(await r.refused(pia.socket, 'removeParticipant', { participantId: mod.id }), 'FORBIDDEN');
  assert.equal(await r.refused(pia.socket, 'endMeeting'), 'FORBIDDEN');
  assert.equal(
    await r.refused(mod.socket, 'muteParticipant', { participantId: 'nobody', source: 'microphone' }),
    'NOT_JOINED',
  );
});

test('remove: the socket is closed (4001), the others are told, the node cleans up, and the token identity is barred', async () => {
  const { r, node } = roomWithNode({ removalBarMs: 60_000 });
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  const pia = await r.publisher({ token: 'participant:Pia:id-p' });
  const before = Date.now();
  await r.ok(mod.socket, 'removeParticipant', { participantId: pia.id });
  assert.equal(pia.socket.closed?.code, CloseCode.Removed);
  assert.deepEqual(mod.socket.events('participantLeft'), [{ participantId: pia.id }]);
  assert.equal(node.callsOf('closeParticipant').length, 1);
  assert.equal(r.room.participantCount, 1);
  assert.ok(
    r.sweeps.some((at) => at >= before + 60_000),
    'a sweep forgets the bar when it runs out',
  );
  assert.equal((await r.join({ token: 'participant:Pia:id-p' })).reply.error?.code, 'REMOVED_FROM_ROOM');
  assert.equal((await r.join({ token: 'participant:Other:id-o' })).reply.ok, true, 'another identity may join');
});

test('end the meeting: everyone else is closed (4000), the lobby emptied, the room closed on its node', async () => {
  const { r, node } = roomWithNode({ guestPolicy: 'lobby' });
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  const pia = await r.enter({ token: 'participant:Pia:id-p' });
  const waiting = await r.join({ name: 'Gus' });
  await r.ok(mod.socket, 'endMeeting');
  assert.equal(pia.socket.closed?.code, CloseCode.MeetingEnded);
  assert.equal(waiting.socket.closed?.code, CloseCode.MeetingEnded);
  assert.equal(mod.socket.closed?.code, CloseCode.MeetingEnded, "the moderator's own socket after the reply");
  assert.equal(r.room.participantCount, 0);
  assert.equal(node.callsOf('closeRoom').length, 1);
  assert.equal(await r.store.load(), undefined, 'nothing left to keep');
});

test('ask to unmute reaches the participant only', async () => {
  const { r } = roomWithNode();
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  const pia = await r.enter({ token: 'participant:Pia:id-p' });
  await r.ok(mod.socket, 'askToUnmute', { participantId: pia.id, source: 'camera' });
  assert.deepEqual(pia.socket.events('unmuteRequested'), [{ source: 'camera' }]);
  assert.deepEqual(mod.socket.events('unmuteRequested'), []);
});

test('media: a second consume of a producer replaces the first; limits on transports and consumers', async () => {
  const { r, node } = roomWithNode({ maxTransports: 2, maxConsumers: 1 });
  const host = await r.publisher({ token: 'moderator:Mona:id-m' });
  const other = await r.publisher({ token: 'participant:Pia:id-p' });
  const viewer = await r.enter({ token: 'participant:Vic:id-v' });
  assert.deepEqual(
    viewer.result.participants.map((p: { producers: unknown[] }) => p.producers.length),
    [1, 1],
  );
  const recv = await r.ok(viewer.socket, 'createTransport', { direction: 'recv' });
  assert.equal(
    recv.iceServers[0].username,
    'id-v',
    'TURN credentials for this person (the token identity, not the participant id) on its node',
  );
  await r.ok(viewer.socket, 'createTransport', { direction: 'recv' });
  assert.equal(await r.refused(viewer.socket, 'createTransport', { direction: 'recv' }), 'LIMIT_EXCEEDED');

  const first = await r.ok(viewer.socket, 'consume', {
    transportId: recv.id,
    producerId: host.producerId,
    rtpCapabilities: OPUS_CAPS,
  });
  assert.equal(
    await r.refused(viewer.socket, 'consume', {
      transportId: recv.id,
      producerId: other.producerId,
      rtpCapabilities: OPUS_CAPS,
    }),
    'LIMIT_EXCEEDED',
  );
  const second = await r.ok(viewer.socket, 'consume', {
    transportId: recv.id,
    producerId: host.producerId,
    rtpCapabilities: OPUS_CAPS,
  });
  assert.notEqual(second.consumerId, first.consumerId);
  assert.deepEqual(
    node.callsOf('closeConsumer').map((c) => c.path),
    [`/v1/rooms/room-1/consumers/${first.consumerId}/close`],
  );
  assert.deepEqual(viewer.socket.events('consumerClosed'), [{ consumerId: first.consumerId }]);
  assert.equal(await r.refused(viewer.socket, 'resumeConsumer', { consumerId: first.consumerId }), 'NOT_FOUND');
  await r.ok(viewer.socket, 'resumeConsumer', { consumerId: second.consumerId });

  // A closed producer frees its consumers' places.
  await r.ok(host.socket, 'closeProducer', { producerId: host.producerId });
  assert.deepEqual(viewer.socket.events('producerClosed'), [{ participantId: host.id, producerId: host.producerId }]);
  await r.ok(viewer.socket, 'consume', {
    transportId: recv.id,
    producerId: other.producerId,
    rtpCapabilities: OPUS_CAPS,
  });
  assert.equal(
    await r.refused(viewer.socket, 'produce', {
      transportId: recv.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000 }] },
    }),
    'NOT_FOUND',
    'a recv transport cannot produce',
  );
});

test("media across nodes: a producer is piped to the consumer's node once, whoever consumes it there", async () => {
  const r = new FakeRoom();
  const eu = r.nodes.add(new FakeNode('eu1', { region: 'eu' }));
  const us = r.nodes.add(new FakeNode('us1', { region: 'us' }));
  const host = await r.publisher({ name: 'Host', region: 'eu' });
  const viewers = [await r.enter({ name: 'V1', region: 'us' }), await r.enter({ name: 'V2', region: 'us' })];
  for (const v of viewers) {
    const recv = await r.ok(v.socket, 'createTransport', { direction: 'recv' });
    await r.ok(v.socket, 'consume', { transportId: recv.id, producerId: host.producerId, rtpCapabilities: OPUS_CAPS });
  }
  assert.equal(eu.callsOf('createPipe').length, 1);
  assert.equal(us.callsOf('createPipe').length, 1);
  assert.equal(eu.callsOf('pipeConsume').length, 1, 'piped once for both viewers');
  assert.equal(us.callsOf('pipeProduce').length, 1);
  assert.equal(us.callsOf('consume').length, 2);
  // Pausing follows the producer to its copy.
  await r.ok(host.socket, 'setProducerPaused', { producerId: host.producerId, paused: true });
  assert.equal(eu.callsOf('setProducerPaused').length, 1);
  assert.equal(us.callsOf('setProducerPaused').length, 1);
  assert.deepEqual(viewers[0]!.socket.events('producerPaused'), [
    { participantId: host.id, producerId: host.producerId, paused: true },
  ]);
  assert.deepEqual(host.socket.events('producerPaused'), [], 'the owner is not told what it did');
});
