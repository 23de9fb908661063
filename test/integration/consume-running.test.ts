/**
 * consume with `paused: false` (issue 14, one round trip less to a ready consumer), through the Node
 * edge and the real media node: an audio consumer runs at once and its RTP arrives without any
 * resumeConsumer; a video consumer stays paused whatever is asked (its first key frame must not come
 * before the receiver exists) and runs once resumed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { prepareVideoReceiver, publishVideo, vp8PayloadType } from '../support/werift-video.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ runtime: 'node' });
});
after(async () => {
  await stack?.stop();
});

test('consume with paused: false: audio runs at once without resumeConsumer; video stays paused until resumed', async (t) => {
  const room = 'consume-running';
  const alice = await SignalingClient.connect(stack.wsUrl(room));
  const caps = (await alice.join('Alice')).routerRtpCapabilities;
  const bob = await SignalingClient.connect(stack.wsUrl(room));
  await bob.join('Bob');
  t.after(() => {
    alice.ws.close();
    bob.ws.close();
  });

  const opus = opusPayloadType(caps);
  const mic = await publishAudio(alice, opus);
  const stop = new AbortController();
  const media = ffmpegOpus(opus, 30, mic.writeRtp, stop.signal);
  t.after(() => {
    stop.abort();
    return media.catch(() => {});
  });
  const audio = await receiveAudio(bob, opus, mic.producerId, { paused: false });
  assert.equal(audio.resumes, 0, 'the edge made it running: no resumeConsumer sent');
  await waitFor('audio RTP without any resume', () => audio.received.packets > 20, 15_000);

  const cam = await publishVideo(alice, vp8PayloadType(caps));
  t.after(() => cam.close());
  const video = await prepareVideoReceiver(bob, vp8PayloadType(caps), cam.producerId, { paused: false });
  t.after(() => video.close());
  assert.equal(video.paused, true, 'a video consumer starts paused whatever is asked');
  await video.resume();
  await waitFor('video RTP after the resume', () => video.received.packets > 5 && video.received.keyFrames > 0, 15_000);
});
