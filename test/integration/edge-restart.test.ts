/**
 * A lone Node edge survives its own restart (issue 12) and stops cleanly on SIGTERM (issue 13): a real
 * edge process with its state file, a real media node, three participants with werift peers and Opus
 * RTP from ffmpeg. The edge is killed (kill -9) or stopped (SIGTERM) and started again on the same port
 * and state file within the resume grace: everyone resumes with their resume token, the roster is the
 * same, nobody saw anyone leave or join, and RTP reaches the receivers throughout — the media node was
 * never touched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';
import { CloseCode, type JoinResult } from '../../shared/signaling.ts';

// Long enough for a restart on a busy machine; the grace itself has its own tests (resume.test.ts).
const GRACE_MS = 30_000;

interface Person {
  name: string;
  client: SignalingClient;
  joined: JoinResult;
}

/** A meeting of three: Alice publishes audio, Bob and Carol receive it. */
async function meeting(stack: Stack, room: string, stop: AbortSignal) {
  const people: Person[] = [];
  for (const name of ['Alice', 'Bob', 'Carol']) {
    const client = await SignalingClient.connect(stack.wsUrl(room));
    people.push({ name, client, joined: await client.join(name) });
  }
  const [alice, bob, carol] = people as [Person, Person, Person];
  const pt = opusPayloadType(alice.joined.routerRtpCapabilities);
  const pub = await publishAudio(alice.client, pt);
  const subs = [
    await receiveAudio(bob.client, pt, pub.producerId),
    await receiveAudio(carol.client, pt, pub.producerId),
  ];
  const media = ffmpegOpus(pt, 120, pub.writeRtp, stop);
  await waitFor('media at both receivers', () => subs.every((s) => s.received.packets > 20));
  const packets = () => subs.map((s) => s.received.packets);
  /** Resolves once every receiver got more than `than` (a snapshot of packets()) plus `more`. */
  const flowing = (what: string, than: number[], more = 25) =>
    waitFor(`RTP at every receiver ${what}`, () => subs.every((s, i) => s.received.packets > than[i]! + more), 15_000);
  const closeAll = () => Promise.all([pub.pc.close(), ...subs.map((s) => s.pc.close())]);
  return { people, media, packets, flowing, closeAll };
}

/** Everyone resumes on a new socket; returns the new sockets. Asserts that the roster is as before. */
async function resumeAll(stack: Stack, room: string, people: Person[]): Promise<SignalingClient[]> {
  const clients: SignalingClient[] = [];
  for (const p of people) {
    const client = await SignalingClient.connect(stack.wsUrl(room));
    const resumed = await client.request('resume', {
      protocolVersion: 1,
      participantId: p.joined.participantId,
      resumeToken: p.joined.resumeToken,
    });
    assert.equal(resumed.participantId, p.joined.participantId, `${p.name} is the same participant`);
    assert.deepEqual(
      resumed.participants.map((o) => o.name).sort(),
      people
        .filter((o) => o !== p)
        .map((o) => o.name)
        .sort(),
      `${p.name} finds the same people in the room`,
    );
    clients.push(client);
  }
  return clients;
}

/** Where each old socket's frames stood before the restart (what came before was the meeting's setup). */
const framesNow = (people: Person[]) => people.map((p) => p.client.frames.length);

/**
 * Nobody saw a leave, a join or a media move: on the old sockets since `from` (framesNow before the
 * restart), and on the new ones.
 */
function nobodyLeftOrJoined(people: Person[], from: number[], clients: SignalingClient[]): void {
  const frames = [...people.map((p, i) => p.client.frames.slice(from[i])), ...clients.map((c) => c.frames)].flat();
  const events: string[] = frames.map((f) => ('event' in f ? f.event : '')).filter((e) => e !== '');
  for (const event of ['participantLeft', 'participantJoined', 'mediaMoved', 'mediaUnavailable'])
    assert.ok(!events.includes(event), `nobody got ${event}`);
}

describe('a lone Node edge restarts', () => {
  let stack: Stack;
  const stop = new AbortController();
  before(async () => {
    stack = await startStack({ edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: String(GRACE_MS) } });
  });
  after(async () => {
    stop.abort();
    await stack?.stop();
  });

  test('kill -9 and a restart on the same state file: everyone resumes, media never stops', async () => {
    const room = 'edge-crash';
    const m = await meeting(stack, room, stop.signal);
    const from = framesNow(m.people);
    const killed = await stack.stopEdge('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    // The edge is gone; the media node is not: RTP keeps arriving.
    await m.flowing('while the edge is down', m.packets());
    await stack.startEdge();
    const clients = await resumeAll(stack, room, m.people);
    // Requests work again (chat reaches the others), and the node is registered again without any move.
    await clients[0]!.request('chat', { text: 'still here' });
    for (const c of clients.slice(1)) await c.waitForEvent('chat');
    await waitFor('the media node to register again', async () => {
      const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
      return health.mediaNodes === 1;
    });
    await m.flowing('after the resume', m.packets());
    // A full heartbeat timeout (the default, 4.5 s) and then some: the restored room never failed over.
    await m.flowing('a while after the resume', m.packets(), 400);
    nobodyLeftOrJoined(m.people, from, clients);
    assert.doesNotMatch(stack.output(), /moving the room off a media node/);
    await Promise.all([m.closeAll(), ...clients.map((c) => c.close())]);
  });

  test('SIGTERM: the edge exits 0, sockets close with 1012, everyone resumes on the restarted edge', async () => {
    const room = 'edge-sigterm';
    const m = await meeting(stack, room, stop.signal);
    const before = m.packets();
    const from = framesNow(m.people);
    const exited = await stack.stopEdge('SIGTERM');
    assert.deepEqual(exited, { code: 0, signal: null }, 'a clean exit');
    for (const p of m.people)
      await waitFor(`${p.name}'s socket to close`, () => p.client.closeCode !== undefined, 10_000);
    assert.deepEqual(
      m.people.map((p) => p.client.closeCode),
      [CloseCode.ServiceRestart, CloseCode.ServiceRestart, CloseCode.ServiceRestart],
      'closed with 1012 (Service Restart)',
    );
    await m.flowing('while the edge was stopping', before, 0);
    await m.flowing('while the edge is down', m.packets());
    await stack.startEdge();
    const clients = await resumeAll(stack, room, m.people);
    await m.flowing('after the resume', m.packets());
    nobodyLeftOrJoined(m.people, from, clients);
    await Promise.all([m.closeAll(), ...clients.map((c) => c.close())]);
  });
});

describe('a restarted edge and participants who never come back', () => {
  const SHORT_GRACE_MS = 3_000;
  let stack: Stack;
  before(async () => {
    stack = await startStack({ edgeEnv: { TREFFPUNKT_RESUME_GRACE_MS: String(SHORT_GRACE_MS) } });
  });
  after(async () => {
    await stack?.stop();
  });

  test('they are removed when the grace runs out, though nobody opened the room again', async () => {
    const room = 'edge-restart-gone';
    const ids: string[] = [];
    for (const name of ['Dora', 'Emil']) {
      const client = await SignalingClient.connect(stack.wsUrl(room));
      ids.push((await client.join(name)).participantId);
    }
    await stack.stopEdge('SIGKILL');
    await stack.startEdge();
    // Nobody connects to the room: the edge woke it from the state file, and its sweep removes them.
    await waitFor(
      'both to be removed',
      () =>
        ids.every((id) =>
          stack
            .output()
            .split('\n')
            .some((l) => l.includes(id) && l.includes('participant left')),
        ),
      SHORT_GRACE_MS + 15_000,
      100,
    );
    const newcomer = await SignalingClient.connect(stack.wsUrl(room));
    assert.deepEqual((await newcomer.join('Frida')).participants, [], 'an empty room');
    await newcomer.close();
  });
});
