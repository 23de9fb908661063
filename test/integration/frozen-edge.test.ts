/**
 * A frozen edge moves nobody (issue 13): the Node edge is stopped for 10 s (SIGSTOP) during a meeting and
 * continued. Its room checks run before the heartbeats that queued up meanwhile are read, so the node
 * looks silent for longer than twice the heartbeat timeout — because the edge was. The edge notices its
 * own stall and asks the node's health endpoint first: nobody is moved, the producer stays, media flows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack, type StackNode } from '../support/stack.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';

const TIMEOUT_MS = 3_000;

test('SIGSTOP of the edge for 10 s, then SIGCONT: nobody is moved, media goes on', async (t) => {
  const stack = await startStack({ edgeEnv: { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS) } });
  t.after(async () => {
    const pid = stack.edgePid();
    if (pid && stack.edgeAlive()) process.kill(pid, 'SIGCONT');
    await stack.stop();
  });
  const [node] = stack.mediaNodes as [StackNode];
  const room = 'frozen-edge';
  const alice = await SignalingClient.connect(stack.wsUrl(room));
  const aj = await alice.join('Alice');
  const pt = opusPayloadType(aj.routerRtpCapabilities);
  const bob = await SignalingClient.connect(stack.wsUrl(room));
  await bob.join('Bob');
  const pub = await publishAudio(alice, pt);
  const sub = await receiveAudio(bob, pt, pub.producerId);
  const stopMedia = new AbortController();
  const media = ffmpegOpus(pt, 40, pub.writeRtp, stopMedia.signal);
  t.after(() => {
    stopMedia.abort();
    return media.catch(() => {});
  });
  await waitFor('media', () => sub.received.packets > 20);

  const pid = stack.edgePid()!;
  process.kill(pid, 'SIGSTOP');
  // The fault itself lasts 10 s: more than three heartbeat timeouts.
  await new Promise((r) => setTimeout(r, 10_000));
  process.kill(pid, 'SIGCONT');
  const continuedAt = Date.now();
  await waitFor('the edge to notice its stall', () => /this edge was stalled/.test(stack.output()), 10_000);

  const atContinue = sub.received.packets;
  // Past the stall grace (twice the timeout): had the edge judged the node by its silence, it would have moved everyone.
  await waitFor('the stall grace to pass', () => Date.now() - continuedAt > 2.5 * TIMEOUT_MS, 20_000);
  for (const c of [alice, bob]) {
    assert.deepEqual(c.events('mediaMoved'), []);
    assert.deepEqual(c.events('mediaUnavailable'), []);
    assert.deepEqual(c.events('producerClosed'), []);
  }
  assert.doesNotMatch(stack.output(), /moving the room off a media node/);
  const rooms = (await (await node.controlFetch('/v1/diagnostics/rooms')).json()) as {
    rooms: Record<string, { producers: number }>;
  };
  assert.equal(rooms.rooms[room]?.producers, 1, 'the producer is intact on the node');
  await waitFor('media after the stall', () => sub.received.packets > atContinue + 50, 10_000);
  alice.ws.close();
  bob.ws.close();
});
