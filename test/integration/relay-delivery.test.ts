/**
 * Frames from a room's owner to a socket on a relaying edge arrive exactly once and in order, also while
 * the relaying edge reconnects to another NATS server (docs/edge-cluster.md, "Frames to relayed sockets").
 * Core NATS delivers at most once: what is published to an edge between the loss of its server and its
 * subscription on the next one is gone unless the owner sends it again (relay-outbox.ts) and the relaying
 * edge puts it back in order (relay-inbox.ts).
 *
 * Real parts: three nats-servers in one cluster, two edges (ClusterRooms) in this process, fake media
 * nodes and fake sockets. The relaying edge is on the one server without JetStream, so that killing it
 * (kill -9) touches neither the buckets nor the owner: only the relay's subscription goes, and comes back
 * when the edge has reconnected to another server of the cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterRooms } from '../../edge/cluster/cluster-rooms.ts';
import { connectClusterNats } from '../../edge/cluster/nats.ts';
import type { ClusterSettings } from '../../edge/cluster/settings.ts';
import type { Logger } from '../../edge/core/logger.ts';
import type { MediaNodes } from '../../edge/core/media-nodes.ts';
import { TokenBucket } from '../../edge/core/rate-limit.ts';
import type { EdgeServices } from '../../edge/core/services.ts';
import type { RoomSocketHandle } from '../../edge/node/websocket.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { FAKE_ROOM_LIMITS, FakeMediaNodes, FakeNode, fakeVerifier } from '../support/fake-room.ts';
import { type NatsCluster, startNatsCluster } from '../support/nats-cluster.ts';
import { waitFor } from '../support/poll.ts';

const LEASE_MS = 6_000;
/** Chats sent before the kill, and in all. */
const BEFORE_KILL = 20;
const CHATS = 200;

interface Frame {
  id?: number;
  ok?: boolean;
  event?: string;
  data?: { text?: string };
  error?: { code: string };
}

/** A participant's socket as the edge's WebSocket adapter would feed it. */
class FakeClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #handle: RoomSocketHandle;
  #nextId = 1;

  constructor(rooms: ClusterRooms, room: string) {
    this.#handle = rooms.open(
      room,
      {
        send: (data) => this.frames.push(JSON.parse(data) as Frame),
        close: (code, reason) => {
          this.closed = { code, reason };
          this.#handle.closed();
        },
      },
      undefined,
    );
  }

  async request(method: string, params: object = {}): Promise<Frame> {
    const id = this.#nextId++;
    this.#handle.message(JSON.stringify({ id, method, params }));
    const reply = await waitFor(`the reply to ${method}`, () => this.frames.find((f) => f.id === id), 20_000, 5);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error?.code}`);
    return reply;
  }

  chats(): string[] {
    return this.frames.filter((f) => f.event === 'chat').map((f) => f.data?.text ?? '');
  }
}

describe('frames to a relayed socket while its edge reconnects to another NATS server', () => {
  let nats: NatsCluster;
  const edges: ClusterRooms[] = [];
  const media = new FakeMediaNodes();
  media.add(new FakeNode('n1'));

  async function startEdge(id: string, server: string, events: string[]): Promise<ClusterRooms> {
    const record = (fields: object, msg?: string) => {
      const { event } = fields as { event?: string };
      if (event) events.push(event);
      if (process.env.DEBUG_RELAY) console.error(id, fields, msg);
    };
    const log: Logger = { debug: record, info: record, warn: record, error: record };
    // One server each: the client learns the others from the cluster and reconnects to one of them.
    const settings: ClusterSettings = { servers: [server], auth: {}, replicas: 1, edgeId: id, leaseMs: LEASE_MS };
    const services: EdgeServices = {
      room: {
        nodes: media as unknown as MediaNodes,
        access: { verifier: fakeVerifier(false), guestPolicy: 'allow', removalBarMs: 60_000 },
        log,
        ...FAKE_ROOM_LIMITS,
        joinTimeoutMs: 30_000,
        resumeGraceMs: 30_000,
        mediaConstraint: {},
        nodeCheckIntervalMs: 60_000,
      },
      messageBudget: () => new TokenBucket(10_000, 20_000),
      reloadAccess: () => {},
    };
    const nc = await connectClusterNats(settings, log);
    const rooms = new ClusterRooms({ services, nats: nc, settings, log, maxMessageBytes: 16_384 });
    rooms.start();
    edges.push(rooms);
    return rooms;
  }

  before(async () => {
    // n1 without JetStream: the relaying edge's server, the one that is killed.
    nats = await startNatsCluster(3, { plain: [0] });
  });
  after(async () => {
    for (const edge of edges) await edge.shutdown().catch(() => {});
    await nats?.stop();
  });

  test('every chat arrives exactly once and in order', async () => {
    const [n1, n2] = nats.servers as [NatsCluster['servers'][0], NatsCluster['servers'][0]];
    const ownerEvents: string[] = [];
    const relayEvents: string[] = [];
    const owner = await startEdge('owner', n2.url, ownerEvents);
    const relay = await startEdge('relay', n1.url, relayEvents);
    const room = 'relay-delivery';
    const alice = new FakeClient(owner, room);
    await alice.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'Alice' });
    assert.deepEqual(owner.ownedRooms(), [room]);
    const bob = new FakeClient(relay, room);
    await bob.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'Bob' });
    assert.deepEqual(relay.ownedRooms(), [], 'Bob is relayed to the owner');

    const sent: string[] = [];
    for (let i = 0; i < CHATS; i++) {
      if (i === BEFORE_KILL) await n1.kill();
      const text = `chat ${i}`;
      await alice.request('chat', { text });
      sent.push(text);
    }
    await waitFor('the relaying edge to reconnect', () => relayEvents.includes('natsReconnected'), 20_000);
    await waitFor('every chat at Bob', () => bob.chats().length >= CHATS, 20_000, 20).catch(() => {
      const got = new Set(bob.chats());
      throw new Error(`Bob missed ${sent.filter((t) => !got.has(t)).length} of ${CHATS} chats`);
    });
    // One more through the same path: had a duplicate been on its way, it would have come before this one.
    await alice.request('chat', { text: 'last' });
    await waitFor('the last chat at Bob', () => bob.chats().includes('last'), 20_000, 20);
    assert.deepEqual(bob.chats(), [...sent, 'last'], 'each chat once, in the order sent');
    assert.equal(bob.closed, undefined, "Bob's socket stayed open");
    assert.ok(!relayEvents.includes('relayFramesLost'));
  });
});
