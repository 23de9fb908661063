/**
 * Rooms across media nodes, failover, drain and operator constraints, with real media node processes
 * (each its own mediasoup worker, ports and operator id) and scripted participants that send and
 * receive real Opus over DTLS-SRTP (werift). The browser versions are in test/e2e/failover.test.ts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES, startStack, type NodeSpec, type Stack, type StackNode } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { deploymentToken } from '../support/join-token.ts';

const TOKEN_SECRET = 'multi-node-test-join-token-secret-0123456789';
const token = (room: string, name: string, media?: { operators?: string[]; jurisdictions?: string[] }) =>
  deploymentToken(TOKEN_SECRET, { room, name, role: 'participant', ...(media ? { media } : {}) });

/** Nodes send heartbeats every 666 ms; one silent for 2 s (while the others are heard) is lost. */
const FAST_FAILOVER = { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '2000', TREFFPUNKT_RESUME_GRACE_MS: '5000' };

const NODES: NodeSpec[] = [
  { nodeId: 'node-a', operator: 'op-a', region: 'north', jurisdiction: 'DE' },
  { nodeId: 'node-b', operator: 'op-b', region: 'south', jurisdiction: 'FR' },
  { nodeId: 'node-c', operator: 'op-c', region: 'north', jurisdiction: 'CH' },
];

async function joinIn(stack: Stack, room: string, name: string, region?: string) {
  const client = await SignalingClient.connect(stack.wsUrl(room));
  const joined = await client.request('join', {
    protocolVersion: PROTOCOL_VERSION,
    name,
    ...(region ? { region } : {}),
  });
  return { client, joined };
}

async function load(node: StackNode) {
  const res = await fetch(`${node.controlUrl}/healthz`);
  return ((await res.json()) as { load: { routers: number; transports: number; producers: number; consumers: number } })
    .load;
}

/** A participant that keeps sending Opus; `restart` publishes again (after mediaMoved) on the same tone. */
async function speaker(client: SignalingClient, pt: number) {
  let pub = await publishAudio(client, pt);
  const stop = new AbortController();
  const sending = ffmpegOpus(pt, 60, (packet) => pub.writeRtp(packet), stop.signal);
  return {
    get producerId() {
      return pub.producerId;
    },
    async restart() {
      const old = pub;
      pub = await publishAudio(client, pt);
      await old.pc.close();
    },
    async stop() {
      stop.abort();
      await sending;
      await pub.pc.close();
    },
  };
}

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge, three media nodes`, () => {
    const stacks: Stack[] = [];
    after(async () => {
      await Promise.all(stacks.map((s) => s.stop()));
    });
    const start = async (opts: Parameters<typeof startStack>[0]) => {
      const s = await startStack({ runtime, ...opts });
      stacks.push(s);
      return s;
    };

    test('participants on two nodes hear each other through one SRTP pipe per node pair', async () => {
      const stack = await start({ nodes: NODES.slice(0, 2) });
      const [a, b] = stack.mediaNodes as [StackNode, StackNode];
      const room = 'across-nodes';
      const alice = await joinIn(stack, room, 'Alice', 'north');
      const bob = await joinIn(stack, room, 'Bob', 'south');
      const carol = await joinIn(stack, room, 'Carol', 'south');
      const pt = opusPayloadType(alice.joined.routerRtpCapabilities);
      const talk = await speaker(alice.client, pt);
      try {
        assert.equal((await load(a)).producers, 1, 'Alice publishes on node-a (region north)');
        const bobRx = await receiveAudio(bob.client, pt, talk.producerId);
        const carolRx = await receiveAudio(carol.client, pt, talk.producerId);
        await waitFor(
          'Bob and Carol (node-b) to receive Alice (node-a)',
          () => bobRx.received.packets > 50 && carolRx.received.packets > 50,
          15_000,
        );
        const bLoad = await load(b);
        assert.equal(bLoad.consumers, 2, 'both consumers are on node-b');
        assert.equal(bLoad.producers, 1, "node-b holds the piped copy of Alice's producer, once");

        for (const [node, peer] of [
          [a, b],
          [b, a],
        ] as const) {
          const res = await node.controlFetch(`/v1/rooms/${room}/pipes/${peer.nodeId}/stats`);
          assert.equal(res.status, 200, `${node.nodeId} has a pipe to ${peer.nodeId}`);
          const stats = (await res.json()) as {
            srtpCryptoSuite: string | null;
            pipedOut: number;
            rtpBytesSent: number;
            rtpBytesReceived: number;
          };
          assert.match(
            stats.srtpCryptoSuite ?? '',
            /^(AEAD_AES_(256|128)_GCM|AES_CM_128_HMAC_SHA1_(80|32))$/,
            `the ${node.nodeId} → ${peer.nodeId} pipe is SRTP-encrypted`,
          );
          if (node === a) {
            assert.equal(stats.pipedOut, 1, "Alice's audio crosses to node-b once, for two consumers there");
            assert.ok(stats.rtpBytesSent > 0, 'RTP flows into the pipe');
          } else {
            assert.ok(stats.rtpBytesReceived > 0, 'RTP arrives through the pipe');
          }
        }

        // Muting follows the producer to the piped copy: node-b forwards nothing while Alice is paused.
        await alice.client.request('setProducerPaused', { producerId: talk.producerId, paused: true });
        const bobStats = async () => {
          const res = await b.controlFetch(`/v1/rooms/${room}/consumers/${bobRx.consumerId}/stats`);
          return (await res.json()) as { producerPaused: boolean };
        };
        await waitFor("Bob's consumer on node-b to see the pause", async () => (await bobStats()).producerPaused);

        // Alice leaves: her piped copy on node-b closes with her.
        await alice.client.request('leave', {});
        await waitFor('node-b to drop the piped producer', async () => (await load(b)).producers === 0);
      } finally {
        await talk.stop();
        await Promise.all([alice.client.close(), bob.client.close(), carol.client.close()]);
      }
    });

    test('kill -9 of a node: its participants move to a live node and are heard again, nobody leaves', async () => {
      const stack = await start({ nodes: NODES, edgeEnv: FAST_FAILOVER });
      const [a] = stack.mediaNodes as [StackNode];
      const room = 'failover-kill';
      // Both on node-a (region north; the room sticks to the node it uses).
      const alice = await joinIn(stack, room, 'Alice', 'north');
      const bob = await joinIn(stack, room, 'Bob', 'north');
      const pt = opusPayloadType(alice.joined.routerRtpCapabilities);
      const talk = await speaker(alice.client, pt);
      try {
        const rx = await receiveAudio(bob.client, pt, talk.producerId);
        await waitFor('Bob to hear Alice on node-a', () => rx.received.packets > 20, 15_000);
        assert.equal((await load(a)).transports, 2);

        const killedAt = Date.now();
        a.process.kill('SIGKILL');
        const [movedA, movedB] = await Promise.all([
          alice.client.waitForEvent<{ reason: string }>('mediaMoved', () => true, 10_000),
          bob.client.waitForEvent<{ reason: string }>('mediaMoved', () => true, 10_000),
        ]);
        const detectedMs = Date.now() - killedAt;
        assert.equal(movedA.reason, 'nodeFailed');
        assert.equal(movedB.reason, 'nodeFailed');
        await bob.client.waitForEvent<{ producerId: string }>(
          'producerClosed',
          (d) => d.producerId === talk.producerId,
        );

        await talk.restart();
        const added = await bob.client.waitForEvent<{ producerId: string }>(
          'producerAdded',
          (d) => d.producerId === talk.producerId,
        );
        const rx2 = await receiveAudio(bob.client, pt, added.producerId);
        await waitFor('Bob to hear Alice again on another node', () => rx2.received.packets > 20, 15_000);
        const restoredMs = Date.now() - killedAt;
        console.log(
          `[${runtime}] kill -9 → mediaMoved ${detectedMs} ms → audio again ${restoredMs} ms (scripted clients)`,
        );

        assert.deepEqual(bob.client.events('participantLeft'), [], 'Bob never saw anyone leave');
        assert.deepEqual(alice.client.events('participantLeft'), [], 'Alice never saw anyone leave');
        const live = stack.mediaNodes.filter((n) => n.alive());
        const loads = await Promise.all(live.map(load));
        assert.equal(
          loads.reduce((n, l) => n + l.producers, 0),
          1,
          'the producer lives on one of the surviving nodes',
        );
        await rx.pc.close();
        await rx2.pc.close();
      } finally {
        await talk.stop();
        await Promise.all([alice.client.close(), bob.client.close()]);
      }
    });

    test('a frozen node (SIGSTOP) is caught by its silent node link (Node) or its missing heartbeats (Worker)', async () => {
      const stack = await start({ nodes: NODES.slice(0, 2), edgeEnv: FAST_FAILOVER });
      const [a, b] = stack.mediaNodes as [StackNode, StackNode];
      const room = 'failover-freeze';
      const alice = await joinIn(stack, room, 'Alice', 'north');
      await alice.client.request('createTransport', { direction: 'send' });
      assert.equal((await load(a)).transports, 1);
      a.process.kill('SIGSTOP');
      try {
        const moved = await alice.client.waitForEvent<{ reason: string; keepOld?: boolean }>(
          'mediaMoved',
          () => true,
          10_000,
        );
        // The Node edge holds node links: a silent one is left make-before-break before its health check
        // fails (docs/multi-node.md). The Worker has no links: the heartbeats time out, break-before-make.
        assert.deepEqual(
          { reason: moved.reason, keepOld: moved.keepOld ?? false },
          runtime === 'node' ? { reason: 'nodeDraining', keepOld: true } : { reason: 'nodeFailed', keepOld: false },
        );
        await alice.client.request('createTransport', { direction: 'send' });
        assert.equal((await load(b)).transports, 1, 'the new transport is on node-b');
      } finally {
        a.process.kill('SIGCONT');
      }
      // The new media is up: the handover ends. Thawed before or after its health check's verdict, node-a is
      // told to close the room: now, or once it heartbeats again (left behind). The Worker's move was
      // break-before-make: there is no handover, and node-a is told once it heartbeats again.
      await alice.client.request('mediaMoveDone', {});
      if (runtime === 'node') await alice.client.waitForEvent('oldMediaClosed');
      await waitFor('node-a to be cleaned up after it thawed', async () => (await load(a)).routers === 0, 15_000);
      await alice.client.close();
    });

    test('SIGTERM drains make-before-break: the old media stays until mediaMoveDone, then the node exits empty', async () => {
      const stack = await start({
        nodes: NODES.slice(0, 2),
        edgeEnv: FAST_FAILOVER,
        mediaNodeEnv: { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '20000' },
      });
      const [a, b] = stack.mediaNodes as [StackNode, StackNode];
      const room = 'drain';
      const alice = await joinIn(stack, room, 'Alice', 'north');
      await alice.client.request('createTransport', { direction: 'send' });
      // Whether Alice had been told to move when the node process ended.
      const exited = new Promise<{ code: number | null; movedBefore: boolean }>((r) =>
        a.process.once('exit', (code) => r({ code, movedBefore: alice.client.events('mediaMoved').length > 0 })),
      );
      a.process.kill('SIGTERM');
      const moved = await alice.client.waitForEvent<{ reason: string; keepOld?: boolean }>(
        'mediaMoved',
        () => true,
        10_000,
      );
      assert.equal(moved.reason, 'nodeDraining');
      assert.equal(moved.keepOld, true);
      await alice.client.request('createTransport', { direction: 'send' });
      assert.equal((await load(b)).transports, 1);
      assert.equal((await load(a)).transports, 1, 'the old transport lives on while the participant switches over');
      assert.deepEqual(alice.client.events('oldMediaClosed'), []);
      await alice.client.request('mediaMoveDone', {});
      await alice.client.waitForEvent('oldMediaClosed');
      const end = await exited;
      assert.ok(end.movedBefore, 'the room had moved before the node exited');
      assert.equal(end.code, 0, 'the drained node exits cleanly');
      assert.match(stack.output(), /"how":"empty"/, 'it exited because it was empty, not by timeout');
      await alice.client.close();
    });

    test('SIGTERM: a drained node still exits at its drain timeout when the handover would outlast it', async () => {
      const stack = await start({
        nodes: NODES.slice(0, 2),
        edgeEnv: { ...FAST_FAILOVER, TREFFPUNKT_HANDOVER_DEADLINE_MS: '600000' },
        mediaNodeEnv: { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '3000' },
      });
      const [a] = stack.mediaNodes as [StackNode, StackNode];
      const alice = await joinIn(stack, 'drain-timeout', 'Alice', 'north');
      await alice.client.request('createTransport', { direction: 'send' });
      const exited = new Promise<number | null>((r) => a.process.once('exit', (code) => r(code)));
      a.process.kill('SIGTERM');
      await alice.client.waitForEvent('mediaMoved');
      // Alice never says mediaMoveDone: the room would keep the old media for 10 minutes.
      assert.equal(await exited, 0, 'the node exits cleanly');
      assert.match(stack.output(), /"how":"timeout"/, 'at its drain timeout');
      await alice.client.close();
    });

    test('a room constrained to operator op-a never uses op-b, and says so when op-a is gone', async () => {
      const stack = await start({
        nodes: [
          { nodeId: 'a-1', operator: 'op-a', region: 'north' },
          { nodeId: 'b-1', operator: 'op-b', region: 'north' },
        ],
        edgeEnv: { ...FAST_FAILOVER, TREFFPUNKT_MEDIA_OPERATORS: 'op-a' },
      });
      const [a, b] = stack.mediaNodes as [StackNode, StackNode];
      const room = 'constrained';
      // Even a participant whose region only op-b... both are north here; op-b is also the less loaded
      // after the first join, and still never chosen.
      const alice = await joinIn(stack, room, 'Alice', 'north');
      const bob = await joinIn(stack, room, 'Bob', 'north');
      await alice.client.request('createTransport', { direction: 'send' });
      await bob.client.request('createTransport', { direction: 'send' });
      assert.equal((await load(a)).transports, 2);
      assert.equal((await load(b)).routers, 0, 'op-b never got this room');

      a.process.kill('SIGKILL');
      const unavailable = await alice.client.waitForEvent<{ code: string; message: string }>(
        'mediaUnavailable',
        () => true,
        10_000,
      );
      assert.equal(unavailable.code, 'CONSTRAINT_UNMET');
      assert.match(unavailable.message, /op-a/);
      assert.deepEqual(alice.client.events('mediaMoved'), []);
      assert.equal((await load(b)).routers, 0, 'op-b still never got this room');

      const carol = await SignalingClient.connect(stack.wsUrl(room));
      const refused = await carol.call('join', { protocolVersion: PROTOCOL_VERSION, name: 'Carol' });
      assert.equal(!refused.ok && refused.error.code, 'CONSTRAINT_UNMET');
      // Chat still works for those inside.
      await alice.client.request('chat', { text: 'still here' });
      await bob.client.waitForEvent<{ text: string }>('chat', (d) => d.text === 'still here');
      await Promise.all([alice.client.close(), bob.client.close(), carol.close()]);
    });

    test("a join token's media claim constrains its room: EU only, whatever the region hint", async () => {
      const stack = await start({
        nodes: [
          { nodeId: 'eu-1', operator: 'op-a', region: 'north', jurisdiction: 'DE' },
          { nodeId: 'us-1', operator: 'op-b', region: 'west', jurisdiction: 'US' },
        ],
        edgeEnv: { TREFFPUNKT_JOIN_TOKEN_SECRET: TOKEN_SECRET },
      });
      const [eu, us] = stack.mediaNodes as [StackNode, StackNode];
      const room = 'eu-only';
      const joinWith = async (t: string) => {
        const c = await SignalingClient.connect(stack.wsUrl(room));
        return { c, reply: await c.call('join', { protocolVersion: PROTOCOL_VERSION, token: t, region: 'west' }) };
      };
      const first = await joinWith(await token(room, 'Alice', { jurisdictions: ['EU'] }));
      assert.ok(first.reply.ok, "the first token fixes the room's rule");
      await first.c.request('createTransport', { direction: 'send' });
      assert.equal((await load(eu)).transports, 1, 'placed in the EU although the region hint points to us-1');
      const other = await joinWith(await token(room, 'Mallory', { operators: ['op-b'] }));
      assert.equal(
        !other.reply.ok && other.reply.error.code,
        'CONSTRAINT_UNMET',
        'a token with other rules cannot change them',
      );
      const plain = await joinWith(await token(room, 'Bob'));
      assert.ok(plain.reply.ok, "a token without a media claim joins under the room's rule");
      await plain.c.request('createTransport', { direction: 'send' });
      assert.equal((await load(eu)).transports, 2);
      assert.equal((await load(us)).routers, 0, 'us-1 never got this room');
      // Another room without a claim uses the region hint as usual.
      const elsewhere = await SignalingClient.connect(stack.wsUrl('anywhere'));
      await elsewhere.request('join', {
        protocolVersion: PROTOCOL_VERSION,
        token: await token('anywhere', 'Carol'),
        region: 'west',
      });
      await elsewhere.request('createTransport', { direction: 'send' });
      assert.equal((await load(us)).transports, 1);
      await Promise.all([first.c.close(), other.c.close(), plain.c.close(), elsewhere.close()]);
    });
  });
