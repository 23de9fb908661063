/**
 * The room's order (edge/core/room-queue.ts): each participant's media requests in its own lane, side by
 * side with other participants'; whatever concerns the room alone; and a join that makes its transports
 * (JoinMedia). Over fake media nodes that hold a call until the test releases it (test/support/fake-room.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { FakeNode, FakeRoom } from '../support/fake-room.ts';

const OPUS_CAPS = {
  codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  headerExtensions: [],
};
const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] };

function roomWithNode() {
  const r = new FakeRoom();
  const node = r.nodes.add(new FakeNode('n1'));
  return { r, node };
}

test("one participant's slow node call holds neither another participant's media requests nor its own lane order", async () => {
  const { r, node } = roomWithNode();
  const ann = await r.enter({ name: 'Ann' });
  const bob = await r.enter({ name: 'Bob' });
  const slow = node.hold('createTransport');
  const annTransport = r.request(ann.socket, 'createTransport', { direction: 'send' });
  await slow.arrived(1);
  // Bob's createTransport reaches the node while Ann's still hangs there: it is not queued behind it.
  const bobTransport = r.request(bob.socket, 'createTransport', { direction: 'send' });
  await new Promise((resolve) => setImmediate(resolve)); // every promise reaction so far has run
  assert.equal(node.callsOf('createTransport').length, 2, "Bob's call is on the node beside Ann's");
  // A request of the whole room (a hand raised) waits for both lanes.
  let raised = false;
  const hand = r.request(bob.socket, 'setHand', { raised: true }).then((reply) => {
    raised = true;
    return reply;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(raised, false, 'the room-wide request waits for the media calls before it');
  slow.release();
  const [a, b, h] = await Promise.all([annTransport, bobTransport, hand]);
  assert.ok(a.ok && b.ok && h.ok);
  assert.notEqual(a.result.id, b.result.id);
});

test('a consume that waits on the node while the producer closes in its owner’s lane fails cleanly and leaves nothing', async () => {
  const { r, node } = roomWithNode();
  const pub = await r.publisher({ name: 'Pub' });
  const sub = await r.enter({ name: 'Sub' });
  const recv = await r.ok(sub.socket, 'createTransport', { direction: 'recv' });
  const slow = node.hold('consume');
  const consume = r.request(sub.socket, 'consume', {
    transportId: recv.id,
    producerId: pub.producerId,
    rtpCapabilities: OPUS_CAPS,
  });
  await slow.arrived();
  // The producer's owner closes it in its own lane, while the consume hangs on the node.
  await r.ok(pub.socket, 'closeProducer', { producerId: pub.producerId });
  slow.release();
  const reply = await consume;
  assert.equal(reply.ok, false);
  assert.equal(reply.error?.code, 'NOT_FOUND');
  const made = node.callsOf('consume').length;
  assert.equal(made, 1);
  assert.equal(node.callsOf('closeConsumer').length, 1, 'the consumer the node made is closed again');
  const admin = await r.room.adminView();
  assert.equal(admin.participants.length, 2);
  // Nothing of it is left in the room: the snapshot knows no consumer of Sub.
  const saved = await r.store.load();
  const subSaved = saved?.participants.find((p) => p.id === sub.id);
  assert.deepEqual(subSaved?.consumers, []);
});

test('a join with media makes both transports, connected with the DTLS parameters in the same node call; events wait for the join reply', async () => {
  const { r, node } = roomWithNode();
  const pub = await r.enter({ name: 'Pub' });
  const pubSend = await r.ok(pub.socket, 'createTransport', { direction: 'send' });
  const slow = node.hold('createTransport');
  const joiner = r.open();
  const join = r.request(joiner, 'join', {
    protocolVersion: PROTOCOL_VERSION,
    name: 'New',
    media: { transports: ['send', 'recv'], dtlsParameters: DTLS },
  });
  await slow.arrived(2);
  // The joiner is in; its transports wait on the node. Pub produces meanwhile, in its own lane.
  const produced = await r.ok(pub.socket, 'produce', {
    transportId: pubSend.id,
    kind: 'audio',
    source: 'microphone',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }] },
  });
  assert.equal(joiner.frames.length, 0, 'the producerAdded waits for the join reply');
  slow.release();
  const reply = await join;
  assert.equal(reply.ok, true);
  const { transports } = reply.result;
  assert.equal(transports.send.connected, true);
  assert.equal(transports.recv.connected, true);
  assert.ok(transports.recv.iceServers.length > 0, 'with TURN credentials, as createTransport');
  assert.deepEqual(
    node
      .callsOf('createTransport')
      .slice(1)
      .map((c) => c.body as { direction: string; clientDtlsParameters?: unknown })
      .map(({ direction, clientDtlsParameters }) => ({ direction, clientDtlsParameters })),
    [
      { direction: 'send', clientDtlsParameters: DTLS },
      { direction: 'recv', clientDtlsParameters: DTLS },
    ],
  );
  assert.equal(node.callsOf('connectTransport').length, 0, 'no second call to connect them');
  const order = joiner.frames.map((f) => (f.event ? f.event : `reply ${f.id}`));
  const replyAt = order.findIndex((o) => o.startsWith('reply'));
  assert.equal(replyAt, 0, `the join reply comes first: ${order.join(', ')}`);
  await r.ok(joiner, 'ping');
  // The transports are the participant's: it can consume on the recv one, and they count against its limit.
  assert.deepEqual(
    joiner.events('producerAdded').map((e) => e.producerId),
    [produced.producerId],
  );
  await r.ok(joiner, 'consume', {
    transportId: transports.recv.id,
    producerId: produced.producerId,
    rtpCapabilities: OPUS_CAPS,
  });
  await r.ok(joiner, 'createTransport', { direction: 'send' });
  await r.ok(joiner, 'createTransport', { direction: 'recv' });
  assert.equal(await r.refused(joiner, 'createTransport', { direction: 'send' }), 'LIMIT_EXCEEDED');
});

test('a node older than clientDtlsParameters: the join transport is made without it and connected by a second call; the room asks that node so from then on', async () => {
  const { r, node } = roomWithNode();
  node.refusesClientDtls = true;
  const join = (name: string) =>
    r.ok(r.open(), 'join', {
      protocolVersion: PROTOCOL_VERSION,
      name,
      media: { transports: ['recv'], dtlsParameters: DTLS },
    });
  const first = await join('A');
  assert.equal(first.transports.recv.connected, true);
  assert.deepEqual(
    node.callsOf('connectTransport').map((c) => c.body),
    [{ dtlsParameters: DTLS }],
  );
  const second = await join('B');
  assert.equal(second.transports.recv.connected, true);
  assert.deepEqual(
    node.callsOf('createTransport').map((c) => 'clientDtlsParameters' in (c.body as object)),
    [true, false, false],
    'refused once, then asked without the field',
  );
  assert.equal(node.callsOf('connectTransport').length, 2);
  assert.equal((await r.room.adminView()).participants.length, 2);
});

test("consume's paused: false reaches the node and its answer the client; a node older than the field is asked without it from then on, and the consumer is paused", async () => {
  const { r, node } = roomWithNode();
  const pub = await r.publisher({ name: 'Pub' });
  const consumeAs = async (name: string) => {
    const sub = await r.enter({ name });
    const recv = await r.ok(sub.socket, 'createTransport', { direction: 'recv' });
    return r.ok(sub.socket, 'consume', {
      transportId: recv.id,
      producerId: pub.producerId,
      rtpCapabilities: OPUS_CAPS,
      paused: false,
    });
  };
  assert.equal((await consumeAs('A')).paused, false, 'running at once');
  node.refusesConsumePaused = true;
  assert.equal((await consumeAs('B')).paused, true, 'an older node made it paused: the client resumes it');
  assert.equal((await consumeAs('C')).paused, true);
  assert.deepEqual(
    node.callsOf('consume').map((c) => (c.body as { paused?: boolean }).paused),
    [false, false, undefined, undefined],
    'refused once, then asked without the field',
  );
});

test('a join whose transports cannot be made still joins; without DTLS parameters they are made, not connected', async () => {
  const { r, node } = roomWithNode();
  node.unreachableOps = new Set(['createTransport']);
  const failed = await r.ok(r.open(), 'join', {
    protocolVersion: PROTOCOL_VERSION,
    name: 'A',
    media: { transports: ['recv'] },
  });
  assert.ok(failed.participantId);
  assert.deepEqual(failed.transports, {}, 'none made: the client asks createTransport itself');
  node.unreachableOps = new Set();
  const plain = await r.ok(r.open(), 'join', {
    protocolVersion: PROTOCOL_VERSION,
    name: 'B',
    media: { transports: ['recv'] },
  });
  assert.equal(plain.transports.recv.connected, false);
  assert.equal(node.callsOf('connectTransport').length, 0);
  assert.equal(
    await r.refused(r.open(), 'join', {
      protocolVersion: PROTOCOL_VERSION,
      name: 'C',
      media: { transports: ['recv', 'recv'] },
    }),
    'BAD_MESSAGE',
  );
});

test('two lanes consuming a producer of another node at once share one pipe; a pause meanwhile reaches the copy', async () => {
  const r = new FakeRoom();
  const n1 = r.nodes.add(new FakeNode('n1', { region: 'a' }));
  const n2 = r.nodes.add(new FakeNode('n2', { region: 'b' }));
  const pub = await r.publisher({ name: 'Pub', region: 'a' });
  const subs = [await r.enter({ name: 'S1', region: 'b' }), await r.enter({ name: 'S2', region: 'b' })];
  const recvs = await Promise.all(subs.map((s) => r.ok(s.socket, 'createTransport', { direction: 'recv' })));
  assert.equal(n2.callsOf('createTransport').length, 2, 'both subscribers are on the other node');
  const slow = n1.hold('pipeConsume');
  const consumes = subs.map((s, i) =>
    r.request(s.socket, 'consume', {
      transportId: recvs[i].id,
      producerId: pub.producerId,
      rtpCapabilities: OPUS_CAPS,
    }),
  );
  await slow.arrived(1);
  // The owner mutes itself while the pipe is being made (the copy is made unpaused).
  await r.ok(pub.socket, 'setProducerPaused', { producerId: pub.producerId, paused: true });
  slow.release();
  const replies = await Promise.all(consumes);
  assert.deepEqual(
    replies.map((x) => x.ok),
    [true, true],
  );
  assert.equal(n1.callsOf('pipeConsume').length, 1, 'one pipe for both');
  assert.equal(n2.callsOf('pipeProduce').length, 1);
  assert.equal(n1.callsOf('createPipe').length, 1, 'one node link for both');
  assert.deepEqual(
    n2.callsOf('setProducerPaused').map((c) => c.body),
    [{ paused: true }],
    'the copy made meanwhile is paused too',
  );
});

test('joins do not wait for each other’s saves: they share them, and each is answered only once saved', async () => {
  const { r } = roomWithNode();
  const writes: number[] = []; // participants in each snapshot written
  let release: (() => void) | undefined;
  const save = r.store.save.bind(r.store);
  r.store.save = async (snapshot) => {
    await new Promise<void>((resolve) => (release = resolve));
    writes.push(snapshot?.participants.length ?? 0);
    await save(snapshot);
  };
  const until = async (what: string, ok: () => boolean) => {
    for (let turns = 0; !ok(); turns++) {
      if (turns > 10_000) throw new Error(`never: ${what}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sockets = [r.open(), r.open(), r.open()];
  const join = (i: number) => r.request(sockets[i]!, 'join', { protocolVersion: PROTOCOL_VERSION, name: `P${i}` });
  // Joins of one turn share a save from the start (nothing in a join awaits I/O): the first goes alone.
  const joins = [join(0)];
  await until('the first save starts', () => release !== undefined);
  const first = release!;
  release = undefined;
  joins.push(join(1), join(2));
  // While the first join's save hangs, the two after it run (they are in the room's memory)…
  await until('all three joined', () => r.room.participantCount === 3);
  // …but nobody is answered before a save that holds its join.
  assert.equal(sockets.filter((s) => s.frames.some((f) => f.id !== undefined)).length, 0);
  first();
  await until('the second save starts', () => release !== undefined);
  release!();
  const replies = await Promise.all(joins);
  assert.ok(replies.every((reply) => reply.ok));
  assert.deepEqual(writes, [1, 3], 'the two later joins share one save');
  // The later joins ran while the first join's reply waited for its save: the first joiner hears of
  // them only after its reply (a client listens from then on), and hears of both.
  for (const s of sockets) {
    const replyAt = s.frames.findIndex((f) => f.id !== undefined);
    const firstEventAt = s.frames.findIndex((f) => f.event !== undefined);
    assert.ok(firstEventAt === -1 || firstEventAt > replyAt, 'no event before the join reply');
  }
  assert.deepEqual(
    sockets[0]!.events('participantJoined').map((d) => d.participant.name),
    ['P1', 'P2'],
  );
});

test('joins that arrive in one turn are all in the first snapshot: the part of a join that runs alone awaits no I/O', async () => {
  const { r } = roomWithNode();
  const writes: number[] = [];
  const save = r.store.save.bind(r.store);
  r.store.save = async (snapshot) => {
    writes.push(snapshot?.participants.length ?? 0);
    await save(snapshot);
  };
  const sockets = [r.open(), r.open(), r.open()];
  const replies = await Promise.all(
    sockets.map((s, i) => r.request(s, 'join', { protocolVersion: PROTOCOL_VERSION, name: `P${i}` })),
  );
  assert.ok(replies.every((reply) => reply.ok));
  // An awaited thread-pool call (WebCrypto's digest) in the join let the save start between the joins.
  assert.deepEqual(writes, [3]);
});
