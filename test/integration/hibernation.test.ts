/**
 * The room as a Durable Object survives eviction in the middle of a meeting: workerd drops the object's
 * memory while its hibernatable sockets stay open; the next message wakes a fresh instance that restores
 * the room from SQLite storage and finds its participants through the sockets' attachments.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ runtime: 'workerd' });
});
after(async () => {
  await stack?.stop();
});

test('evicting the room object mid-meeting loses no participant, no producer and no media', async () => {
  const room = 'hibernation';
  const alice = await SignalingClient.connect(stack.wsUrl(room));
  const aliceJoin = await alice.join('Alice');
  const pt = opusPayloadType(aliceJoin.routerRtpCapabilities);
  const bob = await SignalingClient.connect(stack.wsUrl(room));
  const bobJoin = await bob.join('Bob');
  const pub = await publishAudio(alice, pt);
  const sub = await receiveAudio(bob, pt, pub.producerId);
  const media = ffmpegOpus(pt, 12, pub.writeRtp);
  await waitFor('media before the eviction', () => sub.received.packets > 20, 10_000);

  const restoredBefore = (stack.output().match(/room state restored/g) ?? []).length;
  await stack.evictRoom(room);
  const packetsAtEviction = sub.received.packets;

  // The sockets stayed open through the eviction.
  assert.equal(alice.closeCode, undefined);
  assert.equal(bob.closeCode, undefined);
  // The next message wakes a new instance, which restores the room from storage.
  assert.equal(typeof (await bob.request('ping', {})).time, 'number');
  const carol = await SignalingClient.connect(stack.wsUrl(room));
  const carolJoin = await carol.join('Carol');
  await waitFor(
    'the room to be restored from storage',
    () => (stack.output().match(/room state restored/g) ?? []).length > restoredBefore,
    5_000,
  );
  assert.deepEqual(carolJoin.participants.map((p) => p.name).sort(), ['Alice', 'Bob']);
  assert.deepEqual(carolJoin.participants.find((p) => p.id === aliceJoin.participantId)?.producers, [
    { id: pub.producerId, kind: 'audio', source: 'microphone', paused: false },
  ]);

  // Both old participants are still addressable after the wake-up: they are told about Carol.
  await alice.waitForEvent<{ participant: { id: string } }>(
    'participantJoined',
    (d) => d.participant.id === carolJoin.participantId,
  );
  await bob.waitForEvent<{ participant: { id: string } }>(
    'participantJoined',
    (d) => d.participant.id === carolJoin.participantId,
  );

  // Media kept flowing, and a newcomer can consume the producer created before the eviction.
  await waitFor('media after the eviction', () => sub.received.packets > packetsAtEviction + 50, 10_000);
  const carolSub = await receiveAudio(carol, pt, pub.producerId);
  await waitFor('the newcomer to receive media', () => carolSub.received.packets > 20, 10_000);
  await media;

  // A second eviction, then Alice leaves: everyone is still found by their socket attachment.
  await stack.evictRoom(room);
  await alice.request('leave', {});
  for (const c of [bob, carol])
    await c.waitForEvent<{ participantId: string }>(
      'participantLeft',
      (d) => d.participantId === aliceJoin.participantId,
    );
  const dave = await SignalingClient.connect(stack.wsUrl(room));
  const daveJoin = await dave.join('Dave');
  assert.deepEqual(
    daveJoin.participants.map((p) => p.id).sort(),
    [bobJoin.participantId, carolJoin.participantId].sort(),
  );

  await Promise.all([pub.pc.close(), sub.pc.close(), carolSub.pc.close()]);
  await Promise.all([bob.close(), carol.close(), dave.close()]);
});
