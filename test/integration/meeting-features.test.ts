/**
 * What a meeting needs beyond media, through the edge on both runtimes with a real media node: chat,
 * raised hands, server-side mute (producer pause), and the SFU's own observations (active speaker and
 * producer scores) pushed by the media node to the edge and on to the participants.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES_WITH_CLUSTER, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';

for (const runtime of EDGE_RUNTIMES_WITH_CLUSTER)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime });
    });
    after(async () => {
      await stack?.stop();
    });

    async function consumerState(room: string, consumerId: string) {
      const res = await stack.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`);
      return (await res.json()) as { producerPaused: boolean; stats: { type: string; packetCount: number }[] };
    }

    test('chat and raised hands reach everyone, in order, with name and time', async () => {
      const room = 'features-chat';
      const a = await SignalingClient.connect(stack.wsUrl(room));
      const aj = await a.join('Anna');
      const b = await SignalingClient.connect(stack.wsUrl(room));
      await b.join('Ben');
      const sent = await a.request('chat', { text: '  Guten Morgen! 👋\nZweite Zeile  ' });
      const first = await b.waitForEvent<{ participantId: string; name: string; text: string; time: number }>('chat');
      assert.deepEqual(first, {
        participantId: aj.participantId,
        name: 'Anna',
        text: 'Guten Morgen! 👋\nZweite Zeile',
        time: sent.time,
      });
      await a.waitForEvent('chat', (d: { text: string }) => d.text.startsWith('Guten'));
      for (let i = 0; i < 5; i++) await a.request('chat', { text: `m${i}` });
      await waitFor('five more messages', () => b.events('chat').length === 6);
      assert.deepEqual(
        b
          .events('chat')
          .slice(1)
          .map((d) => (d as { text: string }).text),
        ['m0', 'm1', 'm2', 'm3', 'm4'],
      );
      const bad = await a.call('chat', { text: 'x'.repeat(2001) });
      assert.equal(!bad.ok && bad.error.code, 'BAD_MESSAGE');
      const control = await a.call('chat', { text: 'bell\u0007' });
      assert.equal(!control.ok && control.error.code, 'BAD_MESSAGE');

      await a.request('setHand', { raised: true });
      await b.waitForEvent(
        'handChanged',
        (d: { participantId: string; raised: boolean }) => d.participantId === aj.participantId && d.raised,
      );
      const c = await SignalingClient.connect(stack.wsUrl(room));
      const cj = await c.join('Cem');
      assert.equal(cj.participants.find((p) => p.id === aj.participantId)?.handRaised, true);
      await a.request('setHand', { raised: false });
      await c.waitForEvent(
        'handChanged',
        (d: { participantId: string; raised: boolean }) => d.participantId === aj.participantId && !d.raised,
      );
      // Not joined: no chat.
      const stranger = await SignalingClient.connect(stack.wsUrl(room));
      const refused = await stranger.call('chat', { text: 'hi' });
      assert.equal(!refused.ok && refused.error.code, 'NOT_JOINED');
      await Promise.all([a.close(), b.close(), c.close(), stranger.close()]);
    });

    test('mute on the server, active speaker and producer scores', async () => {
      const room = 'features-media';
      const alice = await SignalingClient.connect(stack.wsUrl(room));
      const aliceJoin = await alice.join('Alice');
      const pt = opusPayloadType(aliceJoin.routerRtpCapabilities);
      const bob = await SignalingClient.connect(stack.wsUrl(room));
      await bob.join('Bob');
      const pub = await publishAudio(alice, pt);
      const sub = await receiveAudio(bob, pt, pub.producerId);
      const media = ffmpegOpus(pt, 8, pub.writeRtp);

      // The SFU hears Alice: she becomes the active speaker, and her producer gets a good score.
      await bob.waitForEvent(
        'activeSpeaker',
        (d: { participantId: string | null }) => d.participantId === aliceJoin.participantId,
        10_000,
      );
      const score = await bob.waitForEvent<{ producerId: string; score: number }>(
        'producerScore',
        (d) => d.producerId === pub.producerId && d.score > 5,
        10_000,
      );
      assert.ok(score.score <= 10);

      // Alice mutes: the SFU stops forwarding, Bob is told, a newcomer sees the muted state.
      await waitFor('packets to flow', () => sub.received.packets > 30);
      await alice.request('setProducerPaused', { producerId: pub.producerId, paused: true });
      await bob.waitForEvent(
        'producerPaused',
        (d: { producerId: string; paused: boolean }) => d.producerId === pub.producerId && d.paused,
      );
      assert.equal((await consumerState(room, sub.consumerId)).producerPaused, true);
      const atMute = sub.received.packets;
      const carol = await SignalingClient.connect(stack.wsUrl(room));
      const carolJoin = await carol.join('Carol');
      assert.equal(carolJoin.participants.find((p) => p.id === aliceJoin.participantId)?.producers[0]?.paused, true);
      // ...and nobody else can unmute her.
      const forged = await bob.call('setProducerPaused', { producerId: pub.producerId, paused: false });
      assert.equal(!forged.ok && forged.error.code, 'NOT_FOUND');
      // A second of silence: nothing (or only what was in flight) arrives.
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(sub.received.packets - atMute < 10, `${sub.received.packets - atMute} packets arrived while muted`);
      await alice.request('setProducerPaused', { producerId: pub.producerId, paused: false });
      await waitFor('media again after unmute', () => sub.received.packets > atMute + 30, 5_000);
      await media;

      await Promise.all([pub.pc.close(), sub.pc.close()]);
      await Promise.all([alice.close(), bob.close(), carol.close()]);
    });

    test('media events from the node are only believed for its own participants', async () => {
      const room = 'features-forged';
      const a = await SignalingClient.connect(stack.wsUrl(room));
      await a.join('A');
      const post = (body: unknown) => stack.nodeFetch(`/api/nodes/${stack.nodeId}/events`, body);
      const unsigned = await fetch(`${stack.edgeUrl}/api/nodes/${stack.nodeId}/events`, {
        method: 'POST',
        body: JSON.stringify({ room, event: { type: 'activeSpeaker', producerId: null } }),
      });
      assert.equal(unsigned.status, 401);
      assert.equal((await post({ room, event: { type: 'nonsense' } })).status, 400);
      // A well-formed event about a producer that is not in the room is dropped.
      assert.equal(
        (await post({ room, event: { type: 'producerScore', producerId: 'not-here', score: 3 } })).status,
        200,
      );
      assert.equal((await post({ room, event: { type: 'activeSpeaker', producerId: null } })).status, 200);
      await a.waitForEvent('activeSpeaker', (d: { participantId: string | null }) => d.participantId === null);
      assert.equal(a.events('producerScore').length, 0);
      await a.close();
    });
  });
