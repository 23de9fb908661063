/**
 * Reconnection: a participant whose WebSocket drops resumes the same session on a new socket with its
 * resume token, within the grace period: no leave or join seen by the others, media keeps flowing, and
 * requests work again. Without a resume, the participant leaves when the grace period ends. Both runtimes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES_WITH_CLUSTER, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';

const GRACE_MS = 3_000;

for (const runtime of EDGE_RUNTIMES_WITH_CLUSTER)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime, edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: String(GRACE_MS) } });
    });
    after(async () => {
      await stack?.stop();
    });

    test('a dropped socket resumes the same participant; the others see nothing; media flows on', async () => {
      const room = 'resume';
      const alice = await SignalingClient.connect(stack.wsUrl(room));
      const aj = await alice.join('Alice');
      const pt = opusPayloadType(aj.routerRtpCapabilities);
      const bob = await SignalingClient.connect(stack.wsUrl(room));
      await bob.join('Bob');
      const pub = await publishAudio(alice, pt);
      const sub = await receiveAudio(bob, pt, pub.producerId);
      const media = ffmpegOpus(pt, 6, pub.writeRtp);
      await waitFor('media', () => sub.received.packets > 20);

      // The network drops Alice's socket (her WebRTC peer stays up).
      alice.ws.close();
      await waitFor('the socket to close', () => alice.closeCode !== undefined);
      const atDrop = sub.received.packets;
      const again = await SignalingClient.connect(stack.wsUrl(room));
      const wrong = await again.call('resume', {
        protocolVersion: 1,
        participantId: aj.participantId,
        resumeToken: 'not-the-token',
      });
      assert.equal(!wrong.ok && wrong.error.code, 'UNAUTHORIZED');
      const resumed = await again.request('resume', {
        protocolVersion: 1,
        participantId: aj.participantId,
        resumeToken: aj.resumeToken,
      });
      assert.equal(resumed.participantId, aj.participantId);
      assert.notEqual(resumed.resumeToken, aj.resumeToken, 'a fresh token for the next drop');
      assert.deepEqual(
        resumed.participants.map((p) => p.name),
        ['Bob'],
      );
      assert.deepEqual(
        resumed.you?.producers.map((p) => p.id),
        [pub.producerId],
        'the resumed participant learns its own producers (one whose reply was lost included)',
      );
      // The old token is spent.
      const replay = await (await SignalingClient.connect(stack.wsUrl(room))).call('resume', {
        protocolVersion: 1,
        participantId: aj.participantId,
        resumeToken: aj.resumeToken,
      });
      assert.equal(!replay.ok && replay.error.code, 'UNAUTHORIZED');

      // Alice is fully back: her requests work, Bob hears her chat, media never stopped.
      await again.request('chat', { text: 'back' });
      await bob.waitForEvent('chat', (d: { participantId: string }) => d.participantId === aj.participantId);
      await waitFor('media after the resume', () => sub.received.packets > atDrop + 50, 10_000);
      await media;
      // Past the grace period nobody was removed, and Bob never saw Alice leave or join again.
      await new Promise((r) => setTimeout(r, GRACE_MS + 500));
      assert.equal(bob.events('participantLeft').length, 0);
      assert.equal(bob.events('participantJoined').length, 0);
      const carol = await SignalingClient.connect(stack.wsUrl(room));
      assert.deepEqual((await carol.join('Carol')).participants.map((p) => p.name).sort(), ['Alice', 'Bob']);
      await Promise.all([pub.pc.close(), sub.pc.close(), again.close(), bob.close(), carol.close()]);
    });

    test('without a resume, the participant leaves when the grace period ends', async () => {
      const room = 'resume-expired';
      const a = await SignalingClient.connect(stack.wsUrl(room));
      const aj = await a.join('A');
      const b = await SignalingClient.connect(stack.wsUrl(room));
      await b.join('B');
      const dropped = Date.now();
      a.ws.close();
      await b.waitForEvent(
        'participantLeft',
        (d: { participantId: string }) => d.participantId === aj.participantId,
        GRACE_MS + 10_000,
      );
      assert.ok(
        Date.now() - dropped >= GRACE_MS - 100,
        `left after ${Date.now() - dropped} ms, not before the grace period`,
      );
      const late = await (await SignalingClient.connect(stack.wsUrl(room))).call('resume', {
        protocolVersion: 1,
        participantId: aj.participantId,
        resumeToken: aj.resumeToken,
      });
      assert.equal(!late.ok && late.error.code, 'UNAUTHORIZED');
      await b.close();
    });

    test('restartIce: new ICE credentials for your own transport only', async () => {
      const room = 'ice-restart';
      const a = await SignalingClient.connect(stack.wsUrl(room));
      const b = await SignalingClient.connect(stack.wsUrl(room));
      await a.join('A');
      await b.join('B');
      const t = await a.request('createTransport', { direction: 'send' });
      const { iceParameters } = await a.request('restartIce', { transportId: t.id });
      assert.notEqual(iceParameters.usernameFragment, t.iceParameters.usernameFragment, 'a new ufrag');
      assert.notEqual(iceParameters.password, t.iceParameters.password, 'a new password');
      const foreign = await b.call('restartIce', { transportId: t.id });
      assert.equal(!foreign.ok && foreign.error.code, 'NOT_FOUND', "nobody restarts another participant's transport");
      await Promise.all([a.close(), b.close()]);
    });

    test('what concerned only you while your socket was down comes after your resume', async () => {
      const room = 'missed-events';
      const mod = await SignalingClient.connect(stack.wsUrl(room));
      await mod.join('Moderator');
      const b = await SignalingClient.connect(stack.wsUrl(room));
      const bj = await b.join('B');
      await b.close();
      // The edge has seen the socket go (else the events would still be sent to it).
      await waitFor(
        "the edge to see B's socket close",
        () =>
          stack
            .output()
            .split('\n')
            .some((l) => l.includes(bj.participantId) && l.includes('participant disconnected, may resume')),
        10_000,
      );
      await mod.request('muteParticipant', { participantId: bj.participantId, source: 'microphone' });
      await mod.request('askToUnmute', { participantId: bj.participantId, source: 'camera' });
      const again = await SignalingClient.connect(stack.wsUrl(room));
      await again.request('resume', {
        protocolVersion: 1,
        participantId: bj.participantId,
        resumeToken: bj.resumeToken,
      });
      const muted = await again.waitForEvent<{ source: string }>('mutedByModerator');
      assert.equal(muted.source, 'microphone');
      const asked = await again.waitForEvent<{ source: string }>('unmuteRequested');
      assert.equal(asked.source, 'camera');
      const order = again.frames.filter((f) => 'event' in f).map((f) => (f as { event: string }).event);
      assert.ok(order.indexOf('mutedByModerator') < order.indexOf('unmuteRequested'), 'in the order they happened');
      await Promise.all([mod.close(), again.close()]);
    });
  });
