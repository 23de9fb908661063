/** The Room's admission over fake media nodes and sockets (test/support/fake-room.ts): milliseconds, no network. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '../../shared/signaling.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { FakeNode, FakeRoom } from '../support/fake-room.ts';
import { TokenBucket } from '../../edge/core/rate-limit.ts';

function roomWithNode(opts: ConstructorParameters<typeof FakeRoom>[0] = {}) {
  const r = new FakeRoom(opts);
  r.nodes.add(new FakeNode('n1'));
  return r;
}

test('open room: whoever opens it moderates; the next ones participate and see who is there', async () => {
  const r = roomWithNode();
  const a = await r.enter({ name: 'Ann' });
  assert.equal(a.result.role, 'moderator');
  assert.deepEqual(a.result.participants, []);
  assert.equal(a.result.routerRtpCapabilities.node, 'n1', 'the router capabilities of the node the participant is on');
  const b = await r.enter({ name: 'Ben' });
  assert.equal(b.result.role, 'participant');
  assert.deepEqual(
    b.result.participants.map((p: { name: string }) => p.name),
    ['Ann'],
  );
  assert.deepEqual(
    a.socket.events('participantJoined').map((e) => e.participant.name),
    ['Ben'],
  );
  assert.equal(r.nodes.nodes.get('n1')!.callsOf('ensureRouter').length, 1, 'the router is fetched once per node');
  assert.equal(r.room.participantCount, 2);
  assert.equal(
    await r.refused(a.socket, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'again' }),
    'ALREADY_JOINED',
  );
});

test('tokens: the role comes from the token and the name is verified; guests by policy; a guest cannot take a verified name', async () => {
  const r = roomWithNode({ tokens: true, guestPolicy: 'allow' });
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  assert.equal(mod.result.role, 'moderator');
  const guest = await r.enter({ name: 'Gus' });
  assert.equal(guest.result.role, 'guest');
  assert.deepEqual(
    guest.result.participants.map((p: { name: string; verified: boolean }) => [p.name, p.verified]),
    [['Mona', true]],
  );
  assert.equal((await r.join({ name: 'mona' })).reply.error?.code, 'NAME_TAKEN');
  assert.equal((await r.join({ token: 'not-a-token' })).reply.error?.code, 'UNAUTHORIZED');

  const closed = roomWithNode({ tokens: true, guestPolicy: 'deny' });
  assert.equal((await closed.join({ name: 'Gus' })).reply.error?.code, 'UNAUTHORIZED');
  assert.equal((await closed.enter({ token: 'participant:Pia:id-p' })).result.role, 'participant');
});

test('a token identity is used once: refused while its holder is connected, taken over when the holder dropped', async () => {
  const r = roomWithNode({ tokens: true });
  const first = await r.enter({ token: 'participant:Pia:id-p' });
  assert.equal((await r.join({ token: 'participant:Pia:id-p' })).reply.error?.code, 'ALREADY_IN_ROOM');
  await r.room.onClose(first.socket);
  const again = await r.enter({ token: 'participant:Pia:id-p' });
  assert.notEqual(again.id, first.id);
  assert.equal(r.room.participantCount, 1, 'the stale participant left');
});

test('capacity: a full room refuses the next one; a failed join leaves the socket free to try again', async () => {
  const r = roomWithNode({ capacity: 2 });
  await r.enter({ name: 'A' });
  await r.enter({ name: 'B' });
  assert.equal((await r.join({ name: 'C' })).reply.error?.code, 'ROOM_FULL');

  const empty = new FakeRoom();
  const { socket, reply } = await empty.join({ name: 'A' });
  assert.equal(reply.error?.code, 'NO_MEDIA_NODE');
  assert.equal(socket.participantId, undefined);
  empty.nodes.add(new FakeNode('n1'));
  assert.equal((await empty.ok(socket, 'join', { protocolVersion: PROTOCOL_VERSION, name: 'A' })).role, 'moderator');
});

test('lobby: guests wait, moderators see the list, admit lets one in, refuse closes the socket (4003), and the lobby has a capacity', async () => {
  const r = roomWithNode({ tokens: true, guestPolicy: 'lobby', lobbyCapacity: 2 });
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  const g1 = await r.join({ name: 'G1' });
  assert.equal(g1.reply.error?.code, 'WAITING_IN_LOBBY');
  const g2 = await r.join({ name: 'G2' });
  assert.equal((await r.join({ name: 'G3' })).reply.error?.code, 'LOBBY_FULL');
  assert.deepEqual(
    mod.socket
      .events('lobbyChanged')
      .at(-1)
      .waiting.map((w: { name: string }) => w.name),
    ['G1', 'G2'],
  );
  assert.equal(await r.refused(g1.socket, 'chat', { text: 'hi' }), 'NOT_JOINED', 'waiting is not being in the room');

  const stranger = await r.enter({ token: 'participant:Pia:id-p' });
  assert.equal(await r.refused(stranger.socket, 'admit', { participantId: g1.socket.participantId }), 'FORBIDDEN');
  await r.ok(mod.socket, 'admit', { participantId: g1.socket.participantId });
  const [admitted] = g1.socket.events('admitted');
  assert.equal(admitted.role, 'guest');
  assert.equal(admitted.participantId, g1.socket.participantId);
  await r.ok(mod.socket, 'refuse', { participantId: g2.socket.participantId });
  assert.equal(g2.socket.closed?.code, CloseCode.Refused);
  assert.deepEqual(mod.socket.events('lobbyChanged').at(-1).waiting, []);
  assert.equal(await r.refused(mod.socket, 'admit', { participantId: 'nobody' }), 'NOT_FOUND');
  assert.equal(r.room.participantCount, 3);
});

test('lobby notices to moderators are coalesced: the first at once, a burst as one list at the end of the interval', async () => {
  const r = roomWithNode({ tokens: true, guestPolicy: 'lobby', lobbyNotifyMs: 20 });
  const mod = await r.enter({ token: 'moderator:Mona:id-m' });
  for (const name of ['G1', 'G2', 'G3']) await r.join({ name });
  assert.equal(mod.socket.events('lobbyChanged').length, 1);
  await new Promise((resolve) => setTimeout(resolve, 40));
  const notices = mod.socket.events('lobbyChanged');
  assert.equal(notices.length, 2);
  assert.deepEqual(
    notices[1].waiting.map((w: { name: string }) => w.name),
    ['G1', 'G2', 'G3'],
  );
});

test('locked room: newcomers wait for a moderator; without one in the room they are refused', async () => {
  const r = roomWithNode();
  const mod = await r.enter({ name: 'Mo' });
  const other = await r.enter({ name: 'Pia' });
  assert.equal(await r.refused(other.socket, 'lockRoom', { locked: true }), 'FORBIDDEN');
  await r.ok(mod.socket, 'lockRoom', { locked: true });
  assert.deepEqual(other.socket.events('roomLocked'), [{ locked: true }]);
  assert.equal((await r.join({ name: 'Late' })).reply.error?.code, 'WAITING_IN_LOBBY');
  await r.ok(mod.socket, 'leave');
  assert.equal(mod.socket.closed?.code, CloseCode.Left);
  assert.equal((await r.join({ name: 'Later' })).reply.error?.code, 'ROOM_LOCKED');
});

test('frames: refused before the room sees them (not joined, bad JSON, too large, unknown method, bad params, rate limit)', async () => {
  const r = roomWithNode({ maxMessageBytes: 400 });
  const s = r.open();
  assert.equal(await r.refused(s, 'chat', { text: 'hi' }), 'NOT_JOINED');
  assert.equal(await r.refused(s, 'fly'), 'UNKNOWN_METHOD');
  assert.equal(await r.refused(s, 'join', { protocolVersion: 'one' }), 'BAD_MESSAGE');
  await r.room.onMessage(s, '{not json');
  await r.room.onMessage(s, 'x'.repeat(401));
  await r.room.onMessage(s, new ArrayBuffer(4));
  assert.deepEqual(
    s.frames.slice(-3).map((f) => [f.id, f.error?.code]),
    [
      [null, 'BAD_JSON'],
      [null, 'MESSAGE_TOO_LARGE'],
      [null, 'BAD_JSON'],
    ],
  );
  assert.equal((await r.ok(s, 'ping')).time > 0, true);
  // A spent budget that never refills: draining a live bucket would race its refill on a busy machine.
  s.messages = new TokenBucket(0, 0);
  await r.room.onMessage(s, '{"id":77,"method":"ping"}');
  assert.deepEqual(
    [s.frames.at(-1)?.id, s.frames.at(-1)?.error?.code],
    [77, 'RATE_LIMITED'],
    'a refused request gets its id back',
  );
});

test('resume: a dropped participant stays for the grace period, resumes with its token and gets what it missed', async () => {
  const r = roomWithNode();
  const mod = await r.enter({ name: 'Mo' });
  const pia = await r.enter({ name: 'Pia' });
  await r.room.onClose(pia.socket);
  r.sockets.delete(pia.socket);
  assert.equal(r.room.participantCount, 1 + 1, 'still in the room');
  assert.equal(mod.socket.events('participantLeft').length, 0, 'the others see nothing');
  await r.ok(mod.socket, 'askToUnmute', { participantId: pia.id, source: 'microphone' });
  const next = r.open();
  assert.equal(
    await r.refused(next, 'resume', { protocolVersion: PROTOCOL_VERSION, participantId: pia.id, resumeToken: 'wrong' }),
    'UNAUTHORIZED',
  );
  const resumed = await r.ok(next, 'resume', {
    protocolVersion: PROTOCOL_VERSION,
    participantId: pia.id,
    resumeToken: pia.result.resumeToken,
  });
  assert.equal(resumed.you.id, pia.id);
  assert.notEqual(resumed.resumeToken, pia.result.resumeToken, 'a new token each time');
  assert.deepEqual(next.events('unmuteRequested'), [{ source: 'microphone' }], 'replayed after the reply');
});

test('the grace period runs out: the sweep removes the participant and the others are told', async () => {
  const r = roomWithNode({ resumeGraceMs: 0 });
  const mod = await r.enter({ name: 'Mo' });
  const pia = await r.enter({ name: 'Pia' });
  await r.room.onClose(pia.socket);
  r.sockets.delete(pia.socket);
  await r.room.sweep();
  assert.equal(r.room.participantCount, 1);
  assert.deepEqual(mod.socket.events('participantLeft'), [{ participantId: pia.id }]);
  assert.equal(r.nodes.nodes.get('n1')!.callsOf('closeParticipant').length, 1);
});

test('a socket that never joins is closed by the sweep (4009); one in the lobby is not', async () => {
  const r = roomWithNode({ joinTimeoutMs: 0, tokens: true, guestPolicy: 'lobby' });
  await r.enter({ token: 'moderator:Mona:id-m' });
  const waiting = await r.join({ name: 'G' });
  const idle = r.open();
  await r.room.sweep();
  assert.equal(idle.closed?.code, CloseCode.JoinTimeout);
  assert.equal(waiting.socket.closed, undefined);
});

test('cold start: a new actor on the same store restores the room; participants without a socket get the grace period', async () => {
  const r = roomWithNode();
  const mod = await r.enter({ name: 'Mo' });
  const pia = await r.enter({ name: 'Pia' });
  r.sockets.delete(pia.socket);
  const restartedAt = Date.now();
  r.restart();
  await r.ok(mod.socket, 'chat', { text: 'still here?' });
  assert.equal(r.room.participantCount, 2, 'Pia waits to resume');
  assert.ok(
    r.sweeps.some((at) => at >= restartedAt + 10_000),
    'a sweep is due when her grace period runs out',
  );
  const resumed = await r.ok(r.open(), 'resume', {
    protocolVersion: PROTOCOL_VERSION,
    participantId: pia.id,
    resumeToken: pia.result.resumeToken,
  });
  assert.equal(resumed.routerRtpCapabilities.node, 'n1', 'the router capabilities were saved with the room');
  assert.equal(r.nodes.nodes.get('n1')!.callsOf('ensureRouter').length, 1);
});
