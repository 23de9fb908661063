/**
 * Node credentials without a restart (issue 12): the Node edge reads TREFFPUNKT_NODE_SECRETS_FILE and
 * watches it. A node added while a meeting runs registers and the meeting loses nothing; a file that
 * does not parse keeps the credentials in force; a node removed from the file is refused at its next
 * heartbeat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnMediaNode } from '../support/media-node-process.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack } from '../support/stack.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';

const TIMEOUT_MS = 2_000;

test('a node added to the watched file registers mid-meeting; a bad file changes nothing; a removed node is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-creds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node-secrets.json');
  /** Written as deploy tools do: a new file renamed over the old one. */
  const write = (text: string) => {
    writeFileSync(`${file}.new`, text, { mode: 0o600 });
    renameSync(`${file}.new`, file);
  };
  const secretA = randomBytes(24).toString('hex');
  const secretB = randomBytes(24).toString('hex');
  write(JSON.stringify({ a: { secret: secretA } }));

  const stack = await startStack({
    edgeEnv: {
      TREFFPUNKT_NODE_SECRETS: '',
      TREFFPUNKT_NODE_SECRETS_FILE: file,
      TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
    },
    nodes: [{ nodeId: 'a', env: { TREFFPUNKT_NODE_SECRET: secretA } }],
  });
  t.after(() => stack.stop());
  const health = async () =>
    ((await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number }).mediaNodes;

  // A meeting with media on node a.
  const alice = await SignalingClient.connect(stack.wsUrl('credentials'));
  const aj = await alice.join('Alice');
  const pt = opusPayloadType(aj.routerRtpCapabilities);
  const bob = await SignalingClient.connect(stack.wsUrl('credentials'));
  await bob.join('Bob');
  const pub = await publishAudio(alice, pt);
  const sub = await receiveAudio(bob, pt, pub.producerId);
  const stopMedia = new AbortController();
  const media = ffmpegOpus(pt, 60, pub.writeRtp, stopMedia.signal);
  t.after(() => {
    stopMedia.abort();
    return media.catch(() => {});
  });
  await waitFor('media', () => sub.received.packets > 20);

  // Node b is not in the file yet: refused.
  const b = await spawnMediaNode('b', secretB, stack.edgeUrl, {});
  t.after(() => void b.child.kill('SIGKILL'));
  await waitFor('b to be refused', () => /HTTP 401/.test(b.output()), 20_000);

  write(JSON.stringify({ a: { secret: secretA }, b: { secret: secretB } }));
  await waitFor('b to register', async () => (await health()) === 2, 20_000);
  assert.match(stack.output(), /"added":\["b"\].*media node credentials reloaded/);

  // A broken file: the edge says so and keeps both nodes.
  write('{"a": {"secret": "short"}');
  await waitFor('the error', () => /media node credentials file not taken/.test(stack.output()), 10_000);
  const atBroken = b.output().length;
  const brokenAt = Date.now();
  // Past a heartbeat timeout: had b's heartbeats been refused since, the edge would have lost it.
  await waitFor('a heartbeat timeout to pass', () => Date.now() - brokenAt > 1.5 * TIMEOUT_MS, 10_000);
  assert.equal(await health(), 2);

  // b revoked: its next heartbeat is refused, and it is lost to the edge.
  write(JSON.stringify({ a: { secret: secretA } }));
  await waitFor('b refused again', () => b.output().slice(atBroken).includes('HTTP 401'), 20_000);
  await waitFor('b to be lost', async () => (await health()) === 1, 20_000);
  assert.match(stack.output(), /"removed":\["b"\].*media node credentials reloaded/);

  // The meeting on a lost nothing the whole time.
  const before = sub.received.packets;
  await waitFor('media still flowing', () => sub.received.packets > before + 50, 10_000);
  for (const c of [alice, bob]) {
    assert.deepEqual(c.events('mediaMoved'), []);
    assert.deepEqual(c.events('participantLeft'), []);
  }
  assert.doesNotMatch(stack.output() + b.output(), new RegExp(`${secretA}|${secretB}`), 'no secret in any log');
  alice.ws.close();
  bob.ws.close();
});
