/**
 * A Room with nothing real around it, for unit tests that run in milliseconds: fake media nodes (an
 * in-memory stand-in for what the room uses of MediaNodes: select, client(id).call, status, iceServers,
 * abortCalls, heartbeatAges), fake sockets that collect what they were sent, a fake token verifier and
 * a MemoryRoomStore. No timers are started except by the room itself (the lobby notice interval is 0
 * unless a test asks for one).
 */
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { controlPath, type ControlIds, type ControlOp } from '../../shared/control.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import type { Connection } from '../../edge/core/connection.ts';
import type { JoinTokenVerifier, VerifiedJoin } from '../../edge/core/join-tokens.ts';
import {
  describeConstraint,
  isConstrained,
  meetsConstraint,
  type MediaConstraint,
} from '../../edge/core/media-constraint.ts';
import { NodeUnreachableError } from '../../edge/core/media-node-client.ts';
import type { MediaNodes, NodeCondition } from '../../edge/core/media-nodes.ts';
import type { MediaNodeRecord } from '../../edge/core/node-registry.ts';
import { stickyRegionLeastLoaded, type SelectionRequest } from '../../edge/core/node-selection.ts';
import { TokenBucket } from '../../edge/core/rate-limit.ts';
import { Room, type GuestPolicy, type RoomDeps } from '../../edge/core/room/room.ts';
import { MemoryRoomStore } from '../../edge/core/room/store.ts';
import type { Logger } from '../../edge/core/logger.ts';

export interface NodeCall {
  op: ControlOp;
  path: string;
  body: unknown;
}

/** One media node: answers every control call at once, records it, and can be made to fail. */
export class FakeNode {
  readonly nodeId: string;
  readonly record: MediaNodeRecord;
  status: NodeCondition = 'up';
  /** Control calls throw NodeUnreachableError (a frozen or dead node). */
  unreachable = false;
  /** Calls of these operations alone throw NodeUnreachableError. */
  unreachableOps: ReadonlySet<ControlOp> = new Set();
  /** A node older than createTransport's clientDtlsParameters: its strict body schema refuses the field. */
  refusesClientDtls = false;
  /** A node older than consume's paused: its strict body schema refuses the field. */
  refusesConsumePaused = false;
  readonly calls: NodeCall[] = [];
  /** Holds calls of an operation until released (`hold`): a node that is slow for one of them. */
  readonly #held = new Map<ControlOp, { calls: (() => void)[]; waiting?: () => void }>();
  #seq = 0;

  constructor(
    nodeId: string,
    opts: { region?: string; operator?: string; jurisdiction?: string; transports?: number } = {},
  ) {
    this.nodeId = nodeId;
    this.record = {
      nodeId,
      controlUrl: `http://${nodeId}.invalid`,
      region: opts.region ?? 'eu',
      operator: opts.operator ?? 'op',
      ...(opts.jurisdiction ? { jurisdiction: opts.jurisdiction } : {}),
      load: { workers: 1, routers: 0, transports: opts.transports ?? 0, producers: 0, consumers: 0 },
      registeredAt: 0,
      lastHeartbeatAt: 0,
    };
  }

  /**
   * From now on, calls of `op` wait (each after it is recorded) until `release()`; `arrived(n)` resolves
   * once n of them wait. A test steers what runs side by side with this, without timing.
   */
  hold(op: ControlOp): { arrived(n?: number): Promise<void>; release(): void } {
    const held: { calls: (() => void)[]; waiting?: () => void } = { calls: [] };
    this.#held.set(op, held);
    return {
      arrived: (n = 1) =>
        new Promise<void>((resolve) => {
          const check = () => (held.calls.length >= n ? resolve() : (held.waiting = check));
          check();
        }),
      release: () => {
        this.#held.delete(op);
        for (const go of held.calls.splice(0)) go();
      },
    };
  }

  /** The calls of one operation, in order. */
  callsOf(op: ControlOp): NodeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** As MediaNodeClient.call; records the path it would call, built from the control table. */
  async call<O extends ControlOp>(op: O, ids: ControlIds<O>, body: unknown): Promise<unknown> {
    this.calls.push({ op, path: controlPath(op, ids), body });
    const held = this.#held.get(op);
    if (held) {
      await new Promise<void>((go) => {
        held.calls.push(go);
        held.waiting?.();
      });
    }
    if (this.unreachable || this.unreachableOps.has(op))
      throw new NodeUnreachableError(this.nodeId, new Error('unreachable'));
    const id = `${this.nodeId}-${op}-${++this.#seq}`;
    switch (op) {
      case 'ensureRouter':
        return { rtpCapabilities: { codecs: [], headerExtensions: [], node: this.nodeId } };
      case 'createTransport': {
        const connect = (body as { clientDtlsParameters?: unknown }).clientDtlsParameters !== undefined;
        if (connect && this.refusesClientDtls)
          throw new TreffpunktError(ErrorCode.BadMessage, 'Unrecognized key: "clientDtlsParameters"');
        return {
          id,
          iceParameters: {},
          iceCandidates: [],
          dtlsParameters: {},
          ...(connect ? { connected: true } : {}),
        };
      }
      case 'produce':
        return { producerId: id };
      case 'consume': {
        const paused = (body as { paused?: boolean }).paused;
        if (paused !== undefined && this.refusesConsumePaused)
          throw new TreffpunktError(ErrorCode.BadMessage, 'Unrecognized key: "paused"');
        return {
          consumerId: id,
          producerId: (body as { producerId: string }).producerId,
          kind: 'audio',
          rtpParameters: {},
          ...(this.refusesConsumePaused ? {} : { paused: paused !== false }),
        };
      }
      case 'createPipe':
        return {
          ip: '127.0.0.1',
          port: 1,
          srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: 'a'.repeat(16) },
        };
      case 'pipeConsume':
        return { kind: 'audio', rtpParameters: {}, paused: false };
      default:
        return {};
    }
  }

  async reachable(): Promise<boolean> {
    return !this.unreachable;
  }
}

/** What the room uses of MediaNodes, over FakeNodes; selection as MediaNodes does it, with the real strategy. */
export class FakeMediaNodes {
  readonly nodes = new Map<string, FakeNode>();
  readonly aborted: string[] = [];

  add(node: FakeNode): FakeNode {
    this.nodes.set(node.nodeId, node);
    return node;
  }

  async select(
    request: SelectionRequest & { constraint: MediaConstraint; exclude?: readonly string[] },
  ): Promise<FakeNode> {
    const up = [...this.nodes.values()].filter((n) => n.status === 'up' && !request.exclude?.includes(n.nodeId));
    const allowed = up.filter((n) => meetsConstraint(n.record, request.constraint));
    const chosen = stickyRegionLeastLoaded(
      allowed.map((n) => n.record),
      request,
    );
    if (!chosen) {
      if (up.length > 0 && isConstrained(request.constraint))
        throw new TreffpunktError(
          ErrorCode.ConstraintUnmet,
          `no media node that this meeting may use is available (it requires ${describeConstraint(request.constraint)})`,
        );
      throw new TreffpunktError(ErrorCode.NoMediaNode, 'no media node is available, try again shortly');
    }
    return this.nodes.get(chosen.nodeId)!;
  }

  async client(nodeId: string): Promise<FakeNode> {
    const node = this.nodes.get(nodeId);
    if (!node) throw new TreffpunktError(ErrorCode.NoMediaNode, `media node ${nodeId} is gone`);
    return node;
  }

  async status(nodeId: string): Promise<NodeCondition> {
    return this.nodes.get(nodeId)?.status ?? 'lost';
  }

  async iceServers(nodeId: string, participantId: string): Promise<unknown[]> {
    return [{ urls: [`turn:${nodeId}.invalid`], username: participantId, credential: 'x' }];
  }

  abortCalls(nodeId: string): void {
    this.aborted.push(nodeId);
  }

  async heartbeatAges(): Promise<Record<string, number | null>> {
    return Object.fromEntries([...this.nodes.keys()].map((id) => [id, 0]));
  }
}

/** A socket that keeps what the room sent it. */
export class FakeSocket implements Connection {
  participantId: string | undefined;
  readonly openedAt: number;
  /** Plenty for a test; a test that needs a spent budget swaps in an empty bucket (no timing involved). */
  messages = new TokenBucket(10_000, 10_000);
  readonly frames: {
    id?: number | null;
    ok?: boolean;
    result?: any;
    error?: { code: string; message: string };
    event?: string;
    data?: any;
  }[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #sockets: Set<FakeSocket>;

  constructor(sockets: Set<FakeSocket>, openedAt = Date.now()) {
    this.#sockets = sockets;
    this.openedAt = openedAt;
  }

  send(data: string): void {
    if (this.closed) throw new Error('socket closed');
    this.frames.push(JSON.parse(data));
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.#sockets.delete(this);
  }

  /** The data of every event of this name, in order. */
  events(name: string): any[] {
    return this.frames.filter((f) => f.event === name).map((f) => f.data);
  }
}

/** Tokens are "role:name:identity"; anything else is refused. */
export const fakeVerifier = (enabled = true) =>
  ({
    enabled,
    async verify(token: string, room: string): Promise<VerifiedJoin> {
      const [role, name, identity] = token.split(':');
      if (!role || !name || !identity) throw new TreffpunktError(ErrorCode.Unauthorized, 'bad token');
      return { room, name, role: role as VerifiedJoin['role'], issuer: 'test', identity, multipleSessions: false };
    },
  }) as unknown as JoinTokenVerifier;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The limits a fake room (and a test's own room services) runs with: small, and the same everywhere. */
export const FAKE_ROOM_LIMITS = {
  maxMessageBytes: 16_384,
  capacity: 50,
  maxProducers: 8,
  maxTransports: 4,
  maxConsumers: 50,
  lobbyCapacity: 10,
} as const;

export interface FakeRoomOptions
  extends Partial<Omit<RoomDeps, 'nodes' | 'access' | 'store' | 'connections' | 'scheduleSweep'>> {
  tokens?: boolean;
  guestPolicy?: GuestPolicy;
  removalBarMs?: number;
}

/** A Room over fake nodes and sockets, with helpers to talk to it as a client would. */
export class FakeRoom {
  readonly nodes = new FakeMediaNodes();
  readonly sockets = new Set<FakeSocket>();
  readonly store = new MemoryRoomStore();
  /** Every time the room asked for a sweep. */
  readonly sweeps: number[] = [];
  room: Room;
  readonly #deps: RoomDeps;
  #nextId = 1;

  constructor(opts: FakeRoomOptions = {}) {
    const { tokens = false, guestPolicy = 'allow', removalBarMs = 60_000, ...rest } = opts;
    this.#deps = {
      nodes: this.nodes as unknown as MediaNodes,
      access: { verifier: fakeVerifier(tokens), guestPolicy, removalBarMs },
      log: silent,
      ...FAKE_ROOM_LIMITS,
      joinTimeoutMs: 10_000,
      resumeGraceMs: 10_000,
      mediaConstraint: {},
      nodeCheckIntervalMs: 5,
      lobbyNotifyMs: 0,
      ...rest,
      store: this.store,
      connections: () => this.sockets,
      scheduleSweep: (at) => this.sweeps.push(at),
    };
    this.room = new Room('room-1', this.#deps);
  }

  /** A new actor for the room, on the same store, nodes and sockets: a restart or an eviction. */
  restart(): Room {
    this.room = new Room('room-1', this.#deps);
    return this.room;
  }

  open(): FakeSocket {
    const s = new FakeSocket(this.sockets);
    this.sockets.add(s);
    this.room.onOpen(s);
    return s;
  }

  /** Sends a request and returns its reply frame. */
  async request(socket: FakeSocket, method: string, params: object = {}) {
    const id = this.#nextId++;
    await this.room.onMessage(socket, JSON.stringify({ id, method, params }));
    const reply = socket.frames.find((f) => f.id === id);
    if (!reply) throw new Error(`no reply to ${method}`);
    return reply;
  }

  /** The result of a request that must succeed. */
  async ok(socket: FakeSocket, method: string, params: object = {}) {
    const reply = await this.request(socket, method, params);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error?.code} ${reply.error?.message}`);
    return reply.result;
  }

  /** The error code of a request that must fail. */
  async refused(socket: FakeSocket, method: string, params: object = {}): Promise<string> {
    const reply = await this.request(socket, method, params);
    if (reply.ok) throw new Error(`${method} succeeded`);
    return reply.error!.code;
  }

  /** A new socket that joins (a guest by name, or with a fake token "role:name:identity"). */
  async join(who: { name?: string; token?: string; region?: string }) {
    const socket = this.open();
    const reply = await this.request(socket, 'join', { protocolVersion: PROTOCOL_VERSION, ...who });
    return { socket, reply };
  }

  /** A new socket that joins and must get in. */
  async enter(who: { name?: string; token?: string; region?: string }) {
    const { socket, reply } = await this.join(who);
    if (!reply.ok) throw new Error(`join failed: ${reply.error?.code}`);
    return { socket, id: reply.result.participantId as string, result: reply.result };
  }

  /** Joins, then creates a send transport and produces one track. */
  async publisher(who: { name?: string; token?: string; region?: string }, source = 'microphone', kind = 'audio') {
    const p = await this.enter(who);
    const transport = await this.ok(p.socket, 'createTransport', { direction: 'send' });
    const { producerId } = await this.ok(p.socket, 'produce', {
      transportId: transport.id,
      kind,
      source,
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }] },
    });
    return { ...p, transportId: transport.id as string, producerId: producerId as string };
  }
}
