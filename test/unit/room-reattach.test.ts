/**
 * Room.reattach (edge cluster, issue 12): after a room moved to another edge, the sockets that other
 * edges still hold come back as the participants they were, without a `resume` of their own: nobody sees
 * a leave or a join, resume tokens stay valid, and a participant the room does not know is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { FakeNode, FakeRoom } from '../support/fake-room.ts';

function room(): FakeRoom {
  const r = new FakeRoom();
  r.nodes.add(new FakeNode('n1'));
  return r;
}

test('sockets re-attached to the room on its new owner keep their participants, before and after the load', async () => {
  const r = room();
  const ana = await r.enter({ name: 'Ana' });
  const ben = await r.enter({ name: 'Ben' });
  // The room moves: a new actor on the same stored state; the old sockets are gone with the old owner.
  r.sockets.clear();
  r.restart();
  const anaAgain = r.open();
  // Ana's edge re-attaches her before the new owner has loaded the state...
  assert.equal(await r.room.reattach(anaAgain, ana.id), true);
  await r.ok(anaAgain, 'chat', { text: 'still here' });
  // ...Ben's edge only after it (Ben had counted as disconnected meanwhile, with a grace period).
  const benAgain = r.open();
  assert.equal(await r.room.reattach(benAgain, ben.id), true);
  await r.ok(benAgain, 'setHand', { raised: true });
  assert.equal(r.room.participantCount, 2);
  for (const s of [anaAgain, benAgain]) {
    assert.equal(s.frames.filter((f) => f.event === 'participantLeft' || f.event === 'participantJoined').length, 0);
  }
  // Their resume tokens are the ones they had: a later socket loss resumes as before.
  const resumed = await r.ok(r.open(), 'resume', {
    protocolVersion: PROTOCOL_VERSION,
    participantId: ben.id,
    resumeToken: ben.result.resumeToken,
  });
  assert.equal(resumed.participantId, ben.id);
});

test('a participant the room does not know is not re-attached', async () => {
  const r = room();
  await r.enter({ name: 'Ana' });
  const stranger = r.open();
  assert.equal(await r.room.reattach(stranger, 'no-such-participant'), false);
  assert.equal(stranger.participantId, undefined);
  assert.equal(await r.refused(stranger, 'chat', { text: 'hi' }), 'NOT_JOINED');
});
