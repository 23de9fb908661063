/**
 * A request in flight when the room's owner edge steps down (docs/edge-cluster.md, "A request in flight
 * when the owner steps down"): two edges (ClusterRooms) in this process on a real nats-server with
 * JetStream, fake media nodes and fake sockets. An edge is cut off from NATS by a switch (its buckets
 * fail every call, and `connected()` says false, as after a lost connection): its save waits, its lease is
 * not renewed, and it steps down with the request unanswered. Each request must get exactly one answer, and a request
 * whose change was saved must not be applied again (a second `produce` would be a second producer).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KV } from '@nats-io/kv';
import { ClusterRooms } from '../../edge/cluster/cluster-rooms.ts';
import { type ClusterNats, connectClusterNats } from '../../edge/cluster/nats.ts';
import type { ClusterSettings } from '../../edge/cluster/settings.ts';
import type { Logger } from '../../edge/core/logger.ts';
import type { MediaNodes } from '../../edge/core/media-nodes.ts';
import { TokenBucket } from '../../edge/core/rate-limit.ts';
import type { EdgeServices } from '../../edge/core/services.ts';
import type { RoomSocketHandle } from '../../edge/node/websocket.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { FAKE_ROOM_LIMITS, FakeMediaNodes, FakeNode, fakeVerifier } from '../support/fake-room.ts';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/poll.ts';

const LEASE_MS = 2_000;

/** One edge of the cluster, with a switch that cuts it off from NATS as its lease and store see it. */
interface TestEdge {
  id: string;
  rooms: ClusterRooms;
  nats: ClusterNats;
  /** Cut off: the buckets fail every call and connected() says false (relay messages still go through). */
  cut: boolean;
  /** The next snapshot write lands, then the edge is cut off before it hears so (a lost answer). */
  loseNextWriteAnswer: boolean;
  /** Logged events as `${event} ${room}`, in order. */
  events: string[];
}

/** A participant's socket as the edge's WebSocket adapter would feed it. */
class FakeClient {
  readonly frames: { id?: number | null; ok?: boolean; result?: any; error?: { code: string }; event?: string }[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #handle: RoomSocketHandle;
  #nextId = 1;

  constructor(edge: TestEdge, room: string) {
    this.#handle = edge.rooms.open(
      room,
      {
        send: (data) => this.frames.push(JSON.parse(data)),
        close: (code, reason) => {
          this.closed = { code, reason };
          this.#handle.closed();
        },
      },
      undefined,
    );
  }

  send(method: string, params: object): number {
    const id = this.#nextId++;
    void this.#handle.message(JSON.stringify({ id, method, params }));
    return id;
  }

  replies(id: number) {
    return this.frames.filter((f) => f.id === id);
  }

  async request(method: string, params: object = {}): Promise<any> {
    const id = this.send(method, params);
    const reply = await waitFor(`the reply to ${method}`, () => this.replies(id)[0], 10_000, 10);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error?.code}`);
    return reply.result;
  }

  events(name: string) {
    return this.frames.filter((f) => f.event === name);
  }
}

const produceParams = (transportId: string) => ({
  transportId,
  kind: 'audio',
  source: 'microphone',
  rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }] },
});

describe('a request in flight when the room owner steps down', () => {
  let server: TestNatsServer;
  const edges: TestEdge[] = [];
  const media = new FakeMediaNodes();
  const node = media.add(new FakeNode('n1'));

  async function startEdge(id: string): Promise<TestEdge> {
    const events: string[] = [];
    const record =
      (level: string) =>
      (fields: object, _msg?: string): void => {
        const { event, room } = fields as { event?: string; room?: string };
        if (event) events.push(`${event} ${room ?? ''}`);
        if (level === 'error' || process.env.DEBUG_STEP_DOWN) console.error(id, level, fields, _msg);
      };
    const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
    const settings: ClusterSettings = { servers: [server.url], auth: {}, replicas: 1, edgeId: id, leaseMs: LEASE_MS };
    const real = await connectClusterNats(settings, log);
    const edge = { id, cut: false, loseNextWriteAnswer: false, events } as TestEdge;
    // The buckets as a cut-off edge sees them (nothing goes through), and a snapshot write that lands
    // and then goes unanswered.
    const cutOff = (kv: KV, writesMayLoseAnswers: boolean) =>
      new Proxy(kv, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          if (!['get', 'create', 'update', 'put', 'delete'].includes(String(prop))) return value.bind(target);
          return async (...args: unknown[]) => {
            if (edge.cut) throw new Error('TIMEOUT: cut off from NATS (test)');
            const result = await value.apply(target, args);
            if (!writesMayLoseAnswers || !edge.loseNextWriteAnswer || (prop !== 'update' && prop !== 'create'))
              return result;
            edge.loseNextWriteAnswer = false;
            edge.cut = true;
            throw new Error('TIMEOUT: the answer to the write was lost (test)');
          };
        },
      }) as KV;
    const rooms = cutOff(real.rooms, true);
    const leases = cutOff(real.leases, false);
    edge.nats = { ...real, rooms, leases, connected: () => !edge.cut && real.connected() };
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
      messageBudget: () => new TokenBucket(1_000, 2_000),
      reloadAccess: () => {},
    };
    edge.rooms = new ClusterRooms({ services, nats: edge.nats, settings, log, maxMessageBytes: 16_384 });
    edge.rooms.start();
    edges.push(edge);
    return edge;
  }

  /** Joins on a socket of `edge` and makes a send transport. */
  async function participant(edge: TestEdge, room: string, name: string) {
    const client = new FakeClient(edge, room);
    const joined = await client.request('join', { protocolVersion: PROTOCOL_VERSION, name });
    const transport = await client.request('createTransport', { direction: 'send' });
    return { client, id: joined.participantId as string, transportId: transport.id as string };
  }

  /** Alice's producers as the room's snapshot in NATS has them. */
  async function storedProducers(edge: TestEdge, room: string, participantId: string): Promise<number> {
    const entry = await edge.nats.rooms.get(room);
    const snapshot = JSON.parse(entry!.string()) as { participants: { id: string; producers: unknown[] }[] };
    return snapshot.participants.find((p) => p.id === participantId)!.producers.length;
  }

  /** Waits a moment more: a second answer, had there been one, would have come by then. */
  const settle = () => new Promise((r) => setTimeout(r, LEASE_MS));

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    for (const edge of edges) await edge.rooms.shutdown().catch(() => {});
    await server?.stop();
  });

  test('on the owner’s own socket, unsaved: the owner, back, applies it once and answers once', async () => {
    const a = await startEdge('a1');
    const room = 'step-down-local';
    const alice = await participant(a, room, 'Alice');
    const bob = await participant(a, room, 'Bob');
    assert.deepEqual(a.rooms.ownedRooms(), [room]);
    const callsBefore = node.callsOf('produce').length;

    // Cut off: the produce runs, its save waits, the lease is not renewed, the owner steps down.
    a.cut = true;
    const id = alice.client.send('produce', produceParams(alice.transportId));
    await waitFor('the owner to step down', () => a.events.includes(`roomSteppedDown ${room}`), 4 * LEASE_MS);
    assert.equal(alice.client.replies(id).length, 0, 'nobody answered while the room had no owner');
    assert.equal(node.callsOf('produce').length, callsBefore + 1, 'the produce had reached the media node');

    // NATS is back: the edge takes its room back (its own leftover lease) and answers the request.
    a.cut = false;
    const reply = await waitFor('the answer to produce', () => alice.client.replies(id)[0], 4 * LEASE_MS, 10);
    await settle();
    assert.equal(alice.client.replies(id).length, 1, 'exactly one answer');
    assert.equal(reply.ok, true, `produce answered ${JSON.stringify(reply.error)}`);
    assert.equal(await storedProducers(a, room, alice.id), 1, 'one producer in the room');
    // Nothing of the unsaved change was seen: Bob hears of the producer once, from the room's next actor.
    const added = bob.client.events('producerAdded');
    assert.equal(added.length, 1, 'Bob heard of the new producer exactly once');
    assert.deepEqual(a.rooms.ownedRooms(), [room]);
  });

  test('relayed, saved but unanswered: the next owner answers REPLY_LOST and does not apply it again', async () => {
    const [a, b] = [edges[0] ?? (await startEdge('a1')), await startEdge('b1')];
    const room = 'step-down-saved';
    const bob = await participant(a, room, 'Bob');
    const alice = await participant(b, room, 'Alice');
    assert.ok(a.rooms.ownedRooms().includes(room), 'the first socket made its edge the owner');
    const callsBefore = node.callsOf('produce').length;

    // The produce is applied and its snapshot written, but the owner never hears that the write landed.
    a.loseNextWriteAnswer = true;
    const id = alice.client.send('produce', produceParams(alice.transportId));
    await waitFor('the owner to step down', () => a.events.includes(`roomSteppedDown ${room}`), 4 * LEASE_MS);
    assert.equal(alice.client.replies(id).length, 0);

    // The relaying edge takes the room over (the lease key stood still for a lease time).
    await waitFor('the relaying edge to own the room', () => b.rooms.ownedRooms().includes(room), 6 * LEASE_MS).catch(
      (err) => {
        console.log(a.events, b.events);
        throw err;
      },
    );
    const reply = await waitFor('the answer to produce', () => alice.client.replies(id)[0], 4 * LEASE_MS, 10);
    a.cut = false;
    await settle();
    assert.equal(alice.client.replies(id).length, 1, 'exactly one answer');
    assert.equal(reply.ok, false);
    assert.equal(reply.error?.code, 'REPLY_LOST');
    assert.equal(node.callsOf('produce').length, callsBefore + 1, 'not applied again');
    assert.equal(await storedProducers(b, room, alice.id), 1, 'one producer in the room');
    assert.ok(bob.client.events('producerAdded').length <= 1, 'Bob heard of it at most once');
    // The sockets stayed open and work with the new owner.
    assert.equal(alice.client.closed, undefined);
    await alice.client.request('setHand', { raised: true });
    await waitFor('Bob to see the hand', () => bob.client.events('handChanged').length > 0, 4 * LEASE_MS);
  });

  test('relayed, unsaved: the next owner applies it once and answers once', async () => {
    const a = edges.find((e) => e.id === 'a1') ?? (await startEdge('a1'));
    const b = edges.find((e) => e.id === 'b1') ?? (await startEdge('b1'));
    const room = 'step-down-relayed';
    await participant(a, room, 'Bob');
    const alice = await participant(b, room, 'Alice');
    assert.ok(a.rooms.ownedRooms().includes(room));

    a.cut = true;
    const id = alice.client.send('produce', produceParams(alice.transportId));
    await waitFor('the relaying edge to own the room', () => b.rooms.ownedRooms().includes(room), 8 * LEASE_MS);
    const reply = await waitFor('the answer to produce', () => alice.client.replies(id)[0], 4 * LEASE_MS, 10);
    a.cut = false;
    await settle();
    assert.equal(alice.client.replies(id).length, 1, 'exactly one answer');
    assert.equal(reply.ok, true, `produce answered ${JSON.stringify(reply.error)}`);
    assert.equal(await storedProducers(b, room, alice.id), 1, 'one producer in the room');
  });
});
