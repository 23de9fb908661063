/**
 * Integration with the real mediasoup worker and no browser: scripted participants (werift, real ICE,
 * DTLS and SRTP) join through the Node edge; one publishes Opus RTP from ffmpeg, another receives it.
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
      // A dropped socket's participant stays for the grace period (resume.test.ts); short here.
      stack = await startStack({ runtime, edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: '1000' } });
    });
    after(async () => {
      await stack?.stop();
    });

    async function consumerPacketsSent(room: string, consumerId: string): Promise<number> {
      const res = await stack.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`);
      const { stats } = (await res.json()) as { stats: { type: string; packetCount: number }[] };
      return stats.filter((s) => s.type === 'outbound-rtp').reduce((n, s) => n + s.packetCount, 0);
    }

    test('a scripted participant publishes Opus RTP and another receives it through the SFU', async () => {
      const room = 'integration-media';
      const alice = await SignalingClient.connect(stack.wsUrl(room));
      const aliceJoin = await alice.join('Alice');
      assert.deepEqual(aliceJoin.participants, []);
      const pt = opusPayloadType(aliceJoin.routerRtpCapabilities);

      const bob = await SignalingClient.connect(stack.wsUrl(room));
      const bobJoin = await bob.join('Bob');
      assert.deepEqual(
        bobJoin.participants.map((p) => p.name),
        ['Alice'],
      );
      await alice.waitForEvent<{ participant: { id: string } }>(
        'participantJoined',
        (d) => d.participant.id === bobJoin.participantId,
      );

      const pub = await publishAudio(alice, pt);
      const added = await bob.waitForEvent<{ producerId: string; participantId: string; kind: string }>(
        'producerAdded',
      );
      assert.equal(added.producerId, pub.producerId);
      assert.equal(added.participantId, aliceJoin.participantId);
      assert.equal(added.kind, 'audio');

      const sub = await receiveAudio(bob, pt, pub.producerId);
      const sent = await ffmpegOpus(pt, 3, pub.writeRtp);
      assert.ok(sent > 100, `ffmpeg produced ${sent} RTP packets`);

      await waitFor('werift to decrypt the forwarded packets', () => sub.received.packets > 100, 10_000);
      assert.equal(sub.received.ssrc, sub.ssrc, 'packets carry the consumer SSRC');
      const forwarded = await consumerPacketsSent(room, sub.consumerId);
      assert.ok(forwarded > 100, `mediasoup consumer sent ${forwarded} packets`);
      if (runtime === 'cluster') {
        // Alice's edge runs the room, Bob's edge relays him to it (stack.ts: the cluster runtime).
        const owners = [...stack.output().matchAll(/"event":"roomOwned","room":"integration-media","edge":"(c\d)"/g)];
        assert.deepEqual(
          owners.map((m) => m[1]),
          ['c1'],
        );
      }

      // A third participant who joins now sees Alice's producer in the join reply.
      const carol = await SignalingClient.connect(stack.wsUrl(room));
      const carolJoin = await carol.join('Carol');
      const aliceSeen = carolJoin.participants.find((p) => p.id === aliceJoin.participantId);
      assert.deepEqual(aliceSeen?.producers, [
        { id: pub.producerId, kind: 'audio', source: 'microphone', paused: false },
      ]);

      // Alice leaves: the others are told, and her producer is gone from the room.
      await alice.request('leave', {});
      await bob.waitForEvent<{ participantId: string }>(
        'participantLeft',
        (d) => d.participantId === aliceJoin.participantId,
      );
      await carol.waitForEvent<{ participantId: string }>(
        'participantLeft',
        (d) => d.participantId === aliceJoin.participantId,
      );
      await waitFor("alice's socket to be closed by the edge", () => alice.closeCode === 1000);
      const gone = await bob.call('consume', {
        transportId: sub.transportId,
        producerId: pub.producerId,
        rtpCapabilities: {},
      });
      assert.equal(gone.ok, false);
      assert.equal(!gone.ok && gone.error.code, 'NOT_FOUND');

      await pub.pc.close();
      await sub.pc.close();
      await Promise.all([bob.close(), carol.close()]);
    });

    test('closing a socket without leaving removes the participant after the grace period', async () => {
      const room = 'integration-drop';
      const a = await SignalingClient.connect(stack.wsUrl(room));
      const b = await SignalingClient.connect(stack.wsUrl(room));
      const aj = await a.join('A');
      await b.join('B');
      await a.close();
      await b.waitForEvent<{ participantId: string }>('participantLeft', (d) => d.participantId === aj.participantId);
      await b.close();
    });
  });
