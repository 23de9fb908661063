/**
 * The rooms of a Node edge in a cluster (issue 12, docs/edge-cluster.md). Any edge accepts any socket.
 * Per room, this edge is in one of three states:
 * - `owner`: it holds the room's lease; the room runs here as on a lone edge (InProcessRooms, Room), its
 *   snapshot in NATS KV (NatsRoomStore). Sockets of other edges reach it as relayed Connections.
 * - `remote`: another edge owns it; this edge's sockets are relayed there (request/reply on the room's
 *   subject), and the owner's frames for them come back on this edge's subject.
 * - `finding`: nobody known: frames wait while the finder reads the lease, takes it if it is free, or
 *   probes the holder. Entered at the first socket, when the owner stops answering (killed), when it says
 *   it moved (handover), and when this edge's own lease runs out (cut off from NATS).
 * On a change of owner each socket is re-attached with the participant it had joined as (Room.reattach):
 * the participant keeps its place and its resume token, and nobody sees a leave or a join.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MediaEvent } from '../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { CloseCode } from '../../shared/signaling.ts';
import type { Connection } from '../core/connection.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { RoomStore } from '../core/room/store.ts';
import type { EdgeServices } from '../core/services.ts';
import { InProcessRooms, type SocketEnds } from '../node/room-host.ts';
import type { RoomSocketSink, RoomSocketHandle } from '../node/websocket.ts';
import { CLOSED, ClientSocket, isResent, MAX_WAITING_FRAMES, type OutboxItem } from './client-socket.ts';
import type { ClusterNats } from './nats.ts';
import { NatsRoomStore } from './nats-room-store.ts';
import {
  edgeSubject,
  fieldHeaders,
  headerFields,
  OwnerAck,
  roomSubject,
  ToOwner,
  ToRelay,
  type ToOwner as ToOwnerMessage,
} from './relay-messages.ts';
import { type Lease, RoomLeases } from './room-lease.ts';
import { SaveGate } from './save-gate.ts';
import type { ClusterSettings } from './settings.ts';

interface Owned {
  kind: 'owner';
  lease: Lease;
  store: NatsRoomStore;
  /** What the room sends waits for the save of the change under way (save-gate.ts). */
  gate: SaveGate;
  sub: Subscription | undefined;
  /** The snapshot could be read and the room's subject is listened on (#openOwned). */
  serving: boolean;
  /**
   * Being handed over (shutdown): no new frames are taken, but the lease is still ours until the room is
   * dropped, so what the room sends for the requests it finishes meanwhile still goes out (#speaksFor).
   */
  handingOver: boolean;
  /** Sockets of other edges in this room, by `${edge}/${conn}`. */
  relayed: Map<string, { edge: string; conn: Connection }>;
  /** When each relaying edge was last heard from (its probes): a silent one's sockets are closed. */
  edgesSeen: Map<string, number>;
}
type RouteState = Owned | { kind: 'remote'; owner: string } | { kind: 'finding' } | { kind: 'leaving' };

interface Route {
  name: string;
  state: RouteState;
  sockets: Map<string, ClientSocket>;
  finding: boolean;
}

export interface ClusterRoomsOptions {
  services: EdgeServices;
  nats: ClusterNats;
  settings: ClusterSettings;
  log: Logger;
  /** The room's frame limit: longer frames are cut to one byte over it before relaying (refused anyway). */
  maxMessageBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterRooms implements RoomSocketSink {
  readonly edgeId: string;
  readonly #nc: NatsConnection;
  readonly #nats: ClusterNats;
  readonly #leases: RoomLeases;
  readonly #rooms: InProcessRooms;
  readonly #routes = new Map<string, Route>();
  readonly #perAddress = new Map<string, number>();
  readonly #log: Logger;
  readonly #maxMessageBytes: number;
  /** How often relaying edges probe owners (and owners look for silent relaying edges). */
  readonly #probeMs: number;
  readonly #requestTimeoutMs: number;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  #edgeSub: Subscription | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #shuttingDown = false;

  constructor({ services, nats, settings, log, maxMessageBytes }: ClusterRoomsOptions) {
    this.edgeId = settings.edgeId;
    this.#nc = nats.nc;
    this.#nats = nats;
    this.#log = log;
    this.#maxMessageBytes = maxMessageBytes;
    this.#leases = new RoomLeases(nats.leases, settings.edgeId, settings.leaseMs, log, nats.connected);
    // Snapshots live in NATS; nothing to wake at start (a room is loaded by the edge that takes its lease).
    this.#rooms = new InProcessRooms(services, { store: (name) => this.#storeOf(name), rooms: () => [] });
    this.#probeMs = Math.max(250, settings.leaseMs / 6);
    this.#requestTimeoutMs = Math.max(1_000, settings.leaseMs / 3);
  }

  /** Listens on this edge's subject and starts the probes. */
  start(): void {
    this.#edgeSub = this.#nc.subscribe(edgeSubject(this.edgeId), { callback: (_err, msg) => this.#fromOwner(msg) });
    this.#ticker = setInterval(() => this.#tick(), this.#probeMs);
    this.#ticker.unref();
  }

  /** Rooms this edge runs now (tests and metrics). */
  ownedRooms(): string[] {
    return [...this.#routes.values()].filter((r) => r.state.kind === 'owner').map((r) => r.name);
  }

  /** Set by shutdown(): new room sockets are refused (503), the open ones move to other edges. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  socketsFrom(addressKey: string): number {
    return this.#perAddress.get(addressKey) ?? 0;
  }

  open(name: string, ends: SocketEnds, addressKey: string | undefined): RoomSocketHandle {
    const sock = new ClientSocket(ends, addressKey);
    if (addressKey !== undefined) this.#perAddress.set(addressKey, this.socketsFrom(addressKey) + 1);
    let route = this.#routes.get(name);
    if (!route) {
      route = { name, state: { kind: 'finding' }, sockets: new Map(), finding: false };
      this.#routes.set(name, route);
    }
    const r = route;
    r.sockets.set(sock.id, sock);
    if (r.state.kind === 'owner') {
      if (r.state.serving) this.#attachLocal(r, r.state, sock);
    } else if (r.state.kind === 'remote') void this.#pump(r, sock);
    else void this.#find(r);
    return { message: (frame) => this.#message(r, sock, frame), closed: () => this.#closed(r, sock) };
  }

  /**
   * A media node was found lost (by this edge's node link or another's, through the shared registry):
   * the rooms this edge owns check their nodes now. Rooms owned elsewhere are their owners' to check.
   */
  checkNodesNow(): void {
    this.#rooms.checkNodesNow();
  }

  /** A media node's event: to the room here, or to its owner. */
  async event(name: string, nodeId: string, event: MediaEvent): Promise<void> {
    if (this.#routes.get(name)?.state.kind === 'owner') return this.#rooms.event(name, nodeId, event);
    try {
      await this.#request(name, { kind: 'event', edge: this.edgeId, node: nodeId }, JSON.stringify(event));
    } catch (err) {
      // No owner anywhere: the room is not open, nobody to tell.
      this.#log.debug({ room: name, node: nodeId, ...errorFields(err) }, 'media event for a room without owner');
    }
  }

  // --- the sockets on this edge ---

  #message(route: Route, sock: ClientSocket, frame: string | ArrayBuffer): void {
    if (sock.local && route.state.kind === 'owner') {
      const room = this.#rooms.room(route.name);
      if (room) {
        sock.handedOn(frame);
        return void room.onMessage(sock.local, frame);
      }
    }
    if (sock.outbox.length >= MAX_WAITING_FRAMES) {
      this.#log.warn({ event: 'clusterSocketFlooded', room: route.name }, 'too many frames waiting for the room');
      return sock.ends.close(CloseCode.RateLimited, 'too many messages');
    }
    sock.outbox.push(frame);
    if (route.state.kind === 'remote') void this.#pump(route, sock);
  }

  #closed(route: Route, sock: ClientSocket): void {
    const key = sock.addressKey;
    if (key !== undefined) {
      const left = this.socketsFrom(key) - 1;
      if (left > 0) this.#perAddress.set(key, left);
      else this.#perAddress.delete(key);
    }
    if (sock.local) {
      const conn = sock.local;
      sock.local = undefined;
      route.sockets.delete(sock.id);
      void this.#rooms.close(route.name, conn).then(() => this.#releaseIfUnused(route));
    } else if (route.state.kind === 'remote') {
      sock.outbox.push(CLOSED);
      void this.#pump(route, sock);
    } else {
      // No owner known: the next one finds the participant without a socket (grace period), as a close would.
      route.sockets.delete(sock.id);
    }
  }

  /** Makes the socket a Connection of the local Room; what it sent meanwhile follows, in order. */
  #attachLocal(route: Route, owned: Owned, sock: ClientSocket): void {
    let conn: Connection | undefined;
    const opened = this.#rooms.open(
      route.name,
      sock.fencedEnds(() => sock.local !== undefined && sock.local === conn && speaksFor(route, owned), owned.gate),
      undefined,
      `${this.edgeId}/${sock.id}`,
    );
    conn = opened.conn;
    sock.local = conn;
    sock.attached = false;
    const local = conn;
    if (sock.participantId) void this.#reattach(route.name, opened.room, local, sock.participantId);
    for (const item of sock.outbox.splice(0)) {
      if (item === CLOSED) return this.#closed(route, sock);
      const frame = isResent(item) ? item.resent : item;
      if (sock.handedOn(frame, isResent(item))) void opened.room.onMessage(local, frame, isResent(item));
    }
  }

  async #reattach(
    name: string,
    room: { reattach(c: Connection, p: string): Promise<boolean> },
    conn: Connection,
    participantId: string,
  ) {
    const ok = await room.reattach(conn, participantId).catch((err: unknown) => {
      // The room moved on before the re-attach started: the next owner re-attaches the socket.
      if (err instanceof TreffpunktError && err.code === ErrorCode.RoomMoved) return true;
      this.#log.error({ room: name, ...errorFields(err) }, 're-attach failed');
      return false;
    });
    // Not in the room's state (it joined after the last snapshot that was saved): it has to join again.
    if (!ok) conn.close(CloseCode.ServiceRestart, 'the room moved; join again');
  }

  /** Sends what waits in the socket's outbox to the remote owner, one acked request at a time. */
  async #pump(route: Route, sock: ClientSocket): Promise<void> {
    if (sock.pumping) return;
    sock.pumping = true;
    let owner = '';
    try {
      while (route.state.kind === 'remote' && (sock.outbox.length > 0 || !sock.attached)) {
        owner = route.state.owner;
        const base = { edge: this.edgeId, conn: sock.id };
        if (!sock.attached) {
          if (sock.outbox[0] === CLOSED && !sock.participantId) {
            route.sockets.delete(sock.id);
            return;
          }
          const ack = await this.#request(route.name, { kind: 'open', ...base, participant: sock.participantId });
          if (!ack.ok) return this.#lose(route, owner);
          sock.attached = true;
          continue;
        }
        const item = sock.outbox[0]!;
        const ack = await this.#send(route.name, sock, base, item);
        if (ack.ok) {
          sock.remove(item);
          if (item === CLOSED) route.sockets.delete(sock.id);
        } else if (ack.code === 'UNKNOWN_CONN') sock.attached = false;
        else return this.#lose(route, owner);
      }
    } catch (err) {
      this.#log.info({ room: route.name, owner, ...errorFields(err) }, 'the room owner did not take a frame');
      // No ack: the owner may have taken the frame or not. It is sent again, marked, to the next owner,
      // which applies it only if it was not (a lone requeue too: #lose may have run already).
      sock.requeueUnanswered();
      this.#lose(route, owner);
    } finally {
      sock.pumping = false;
    }
  }

  /**
   * One outbox item to the remote owner. A frame is kept as handed on from now (its reply may come before
   * the ack); one the owner refused stays queued. A frame sent again whose reply came meanwhile is done.
   */
  async #send(room: string, sock: ClientSocket, base: { edge: string; conn: string }, item: OutboxItem) {
    if (item === CLOSED) return this.#request(room, { kind: 'close', ...base });
    const resent = isResent(item);
    const frame = resent ? item.resent : item;
    if (!sock.handedOn(frame, resent)) return { ok: true } as const;
    const ack = await this.#request(
      room,
      { kind: 'frame', ...base, binary: typeof frame === 'string' ? undefined : '1', resent: resent ? '1' : undefined },
      this.#cut(frame),
    );
    if (!ack.ok) sock.notTaken(frame);
    return ack;
  }

  /** A frame over the room's limit is refused there anyway: only one byte over it needs to travel. */
  #cut(frame: string | ArrayBuffer): Uint8Array {
    const bytes = typeof frame === 'string' ? this.#encoder.encode(frame) : new Uint8Array(frame);
    return bytes.length > this.#maxMessageBytes + 1 ? bytes.subarray(0, this.#maxMessageBytes + 1) : bytes;
  }

  // --- who owns the room ---

  /** The remote owner is gone (or said it moved): find the next one. */
  #lose(route: Route, owner: string): void {
    if (route.state.kind !== 'remote' || route.state.owner !== owner) return;
    this.#log.info({ event: 'roomOwnerLost', room: route.name, owner }, 'room owner gone; finding the next one');
    route.state = { kind: 'finding' };
    for (const sock of route.sockets.values()) {
      sock.attached = false;
      sock.requeueUnanswered();
      if (sock.outbox.at(-1) === CLOSED) route.sockets.delete(sock.id);
    }
    void this.#find(route);
  }

  /** Reads the lease until the room has an owner: takes it if it is free, or relays to the holder. */
  async #find(route: Route): Promise<void> {
    if (route.finding) return;
    route.finding = true;
    let delay = 25;
    let warned = false;
    /** The silent holder's key as first read unchanged, by this edge's clock. */
    let unchanged: { revision: number; since: number } | undefined;
    try {
      while (route.state.kind === 'finding' && !this.#shuttingDown) {
        if (route.sockets.size === 0) {
          if (this.#routes.get(route.name) === route) this.#routes.delete(route.name);
          return;
        }
        try {
          const key = await this.#leases.holder(route.name);
          const onLost = (reason: string) => this.#stepDown(route, reason);
          if (key === undefined) {
            const lease = await this.#leases.acquire(route.name, onLost);
            if (lease) return this.#becomeOwner(route, lease);
          } else if (key.edge === this.edgeId) {
            // Our own leftover (this edge holds no lease for a room it is finding: it stepped down, or an
            // old renewal landed late): nobody acts on it, take it back at once (room-lease.ts).
            const lease = await this.#leases.takeOver(route.name, key, onLost);
            if (lease) return this.#becomeOwner(route, lease);
          } else {
            const ack = await this.#request(route.name, { kind: 'probe', edge: this.edgeId }).catch(() => undefined);
            if (ack?.ok) return this.#becomeRemote(route, key.edge);
            // A silent holder (killed, cut off, or every NATS server restarted): once its key has not
            // changed for a lease time it no longer acts on it, whether or not the server forgot it yet.
            const now = performance.now();
            if (unchanged?.revision !== key.revision) unchanged = { revision: key.revision, since: now };
            else if (now - unchanged.since > this.#leases.ttlMs) {
              const lease = await this.#leases.takeOver(route.name, key, onLost);
              if (lease) return this.#becomeOwner(route, lease);
            }
          }
        } catch (err) {
          if (!warned)
            this.#log.warn(
              { event: 'clusterUnavailable', room: route.name, ...errorFields(err) },
              'NATS unreachable: the room waits for an owner',
            );
          warned = true;
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 250);
      }
    } finally {
      route.finding = false;
    }
  }

  #becomeRemote(route: Route, owner: string): void {
    route.state = { kind: 'remote', owner };
    this.#log.debug({ room: route.name, owner }, 'relaying to the room owner');
    for (const sock of route.sockets.values()) {
      sock.attached = false;
      void this.#pump(route, sock);
    }
  }

  #becomeOwner(route: Route, lease: Lease): void {
    const owned: Owned = {
      kind: 'owner',
      lease,
      store: new NatsRoomStore(
        this.#nats.rooms,
        route.name,
        this.#nats.maxPayload,
        () => lease.held,
        this.#nats.connected,
      ),
      gate: new SaveGate(),
      sub: undefined,
      serving: false,
      handingOver: false,
      relayed: new Map(),
      edgesSeen: new Map(),
    };
    route.state = owned;
    this.#log.info({ event: 'roomOwned', room: route.name, edge: this.edgeId }, 'this edge runs the room now');
    void this.#openOwned(route, owned);
  }

  /**
   * Serves the room once its snapshot can be read: right after every NATS server restarted, the lease
   * bucket may answer before the snapshot bucket has a leader, and a room that could not load its
   * snapshot would take its participants for strangers. Until then frames wait here and relaying edges
   * find nobody on the room's subject (they wait too; our lease's revision keeps moving, so they never
   * take it over).
   */
  async #openOwned(route: Route, owned: Owned): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (route.state !== owned || !owned.lease.held) return;
      try {
        await this.#nats.rooms.get(route.name);
        break;
      } catch (err) {
        if (attempt === 1)
          this.#log.warn(
            { event: 'roomSnapshotUnavailable', room: route.name, ...errorFields(err) },
            'the room snapshot cannot be read yet; the room waits',
          );
        await sleep(250);
      }
    }
    if (route.state !== owned) return;
    owned.serving = true;
    owned.sub = this.#nc.subscribe(roomSubject(route.name), {
      callback: (_err, msg) => this.#toOwner(route, owned, msg),
    });
    for (const sock of route.sockets.values()) this.#attachLocal(route, owned, sock);
  }

  #storeOf(name: string): RoomStore {
    const state = this.#routes.get(name)?.state;
    if (state?.kind !== 'owner') throw new Error(`room ${name} is not owned by this edge`);
    return state.gate.around(state.store);
  }

  /** The lease ran out unrenewed (NATS unreachable) or was taken: stop running the room at once. */
  #stepDown(route: Route, reason: string): void {
    const owned = route.state;
    if (owned.kind !== 'owner') return;
    this.#log.warn(
      { event: 'roomSteppedDown', room: route.name, edge: this.edgeId, reason },
      'this edge no longer runs the room',
    );
    route.state = { kind: 'finding' };
    this.#dropOwned(route, owned);
    void this.#find(route);
  }

  /** Forgets the local Room and its relayed sockets; local sockets keep who they are for the next owner. */
  #dropOwned(route: Route, owned: Owned): void {
    owned.handingOver = false;
    void owned.store.revoke();
    owned.sub?.unsubscribe();
    this.#rooms.drop(route.name);
    for (const edge of new Set([...owned.relayed.values()].map((r) => r.edge)))
      this.#publishToRelay(edge, { kind: 'moved', room: route.name, edge: this.edgeId });
    owned.relayed.clear();
    for (const sock of route.sockets.values()) {
      if (sock.local) sock.participantId = sock.local.participantId;
      sock.local = undefined;
      sock.attached = false;
      // Unanswered requests (waiting for a save the lease no longer allows, or queued behind one): the
      // next owner answers them.
      sock.requeueUnanswered();
    }
  }

  /** Gives the lease back when nobody is left here and the Room is forgotten (nothing to keep). */
  #releaseIfUnused(route: Route): void {
    const owned = route.state;
    if (owned.kind !== 'owner' || route.sockets.size > 0 || owned.relayed.size > 0) return;
    if (this.#rooms.room(route.name)) return;
    route.state = { kind: 'leaving' };
    owned.sub?.unsubscribe();
    if (this.#routes.get(route.name) === route) this.#routes.delete(route.name);
    void owned.store.revoke().then(() => owned.lease.release());
  }

  // --- the owner's side of relayed sockets ---

  #toOwner(route: Route, owned: Owned, msg: Msg): void {
    const parsed = ToOwner.safeParse(headerFields(msg.headers));
    if (!parsed.success) {
      this.#log.warn({ event: 'clusterBadMessage', room: route.name }, 'a relay message that is not one was ignored');
      return;
    }
    const m = parsed.data;
    if (route.state !== owned || !owned.lease.held) return this.#ack(msg, { ok: false, code: 'NOT_OWNER' });
    owned.edgesSeen.set(m.edge, performance.now());
    if (m.kind === 'probe') return this.#ack(msg, { ok: true });
    if (m.kind === 'event') {
      this.#ack(msg, { ok: true });
      const event = MediaEvent.safeParse(safeJson(msg.string()));
      if (event.success) void this.#rooms.event(route.name, m.node, event.data);
      return;
    }
    const key = `${m.edge}/${m.conn}`;
    const known = owned.relayed.get(key);
    if (m.kind === 'open') {
      this.#ack(msg, { ok: true });
      if (!known) this.#openRelayed(route, owned, m.edge, m.conn, key, m.participant);
      return;
    }
    if (m.kind === 'close') {
      this.#ack(msg, { ok: true });
      if (known) {
        owned.relayed.delete(key);
        void this.#rooms.close(route.name, known.conn).then(() => this.#releaseIfUnused(route));
      }
      return;
    }
    if (!known) return this.#ack(msg, { ok: false, code: 'UNKNOWN_CONN' });
    this.#ack(msg, { ok: true });
    const room = this.#rooms.room(route.name);
    if (room) void room.onMessage(known.conn, m.binary ? msg.data.slice().buffer : msg.string(), m.resent === '1');
  }

  #openRelayed(route: Route, owned: Owned, edge: string, connId: string, key: string, participant?: string): void {
    let conn: Connection | undefined;
    const current = () => conn !== undefined && owned.relayed.get(key)?.conn === conn && speaksFor(route, owned);
    const opened = this.#rooms.open(
      route.name,
      {
        send: (data) => {
          // Who the socket is joined as when the frame is sent, not when it leaves the gate.
          const participant = conn!.participantId;
          owned.gate.pass(data, () => {
            if (current())
              this.#publishToRelay(
                edge,
                { kind: 'frame', edge: this.edgeId, room: route.name, conn: connId, participant },
                data,
              );
          });
        },
        close: (code, reason) =>
          owned.gate.pass(null, () => {
            if (!current()) return;
            this.#publishToRelay(edge, {
              kind: 'close',
              edge: this.edgeId,
              room: route.name,
              conn: connId,
              code,
              reason: reason.slice(0, 123),
            });
            // As the close event of a local socket would: the room learns that the socket is gone.
            const c = conn!;
            owned.relayed.delete(key);
            setImmediate(() => void this.#rooms.close(route.name, c).then(() => this.#releaseIfUnused(route)));
          }),
      },
      undefined,
      key,
    );
    conn = opened.conn;
    owned.relayed.set(key, { edge, conn });
    if (participant) void this.#reattach(route.name, opened.room, conn, participant);
  }

  #ack(msg: Msg, ack: OwnerAck): void {
    msg.respond(JSON.stringify(ack));
  }

  /** A request to the room's owner; its ack parsed (a malformed ack counts as a lost owner). */
  async #request(room: string, fields: ToOwnerMessage, body?: string | Uint8Array): Promise<OwnerAck> {
    const h = natsHeaders();
    for (const [k, v] of fieldHeaders(fields)) h.set(k, v);
    const reply = await this.#nc.request(roomSubject(room), body ?? '', {
      timeout: this.#requestTimeoutMs,
      headers: h,
    });
    const ack = OwnerAck.safeParse(safeJson(reply.string()));
    return ack.success ? ack.data : { ok: false, code: 'NOT_OWNER' };
  }

  #publishToRelay(edge: string, fields: ToRelay, body?: string): void {
    const h = natsHeaders();
    for (const [k, v] of fieldHeaders(fields)) h.set(k, v);
    try {
      this.#nc.publish(edgeSubject(edge), body ?? '', { headers: h });
    } catch (err) {
      this.#log.debug({ edge, ...errorFields(err) }, 'relay publish failed');
    }
  }

  // --- the relaying edge's side ---

  #fromOwner(msg: Msg): void {
    const parsed = ToRelay.safeParse(headerFields(msg.headers));
    if (!parsed.success) {
      this.#log.warn({ event: 'clusterBadMessage' }, 'a relay message that is not one was ignored');
      return;
    }
    const m = parsed.data;
    const route = this.#routes.get(m.room);
    if (route?.state.kind !== 'remote' || route.state.owner !== m.edge) return;
    if (m.kind === 'moved') return this.#lose(route, m.edge);
    const sock = route.sockets.get(m.conn);
    if (!sock) return;
    if (m.kind === 'frame') {
      sock.participantId = m.participant;
      sock.deliver(this.#decoder.decode(msg.data));
    } else {
      sock.participantId = undefined;
      sock.ends.close(m.code, m.reason);
    }
  }

  /** Probes remote owners; owners close the sockets of relaying edges gone silent. */
  #tick(): void {
    const now = performance.now();
    for (const route of this.#routes.values()) {
      const state = route.state;
      if (state.kind === 'remote') {
        const owner = state.owner;
        this.#request(route.name, { kind: 'probe', edge: this.edgeId }).then(
          (ack) => !ack.ok && this.#lose(route, owner),
          () => this.#lose(route, owner),
        );
      } else if (state.kind === 'owner') {
        for (const [edge, seen] of state.edgesSeen) {
          if (now - seen < 4 * this.#probeMs) continue;
          state.edgesSeen.delete(edge);
          for (const [key, r] of state.relayed)
            if (r.edge === edge) {
              state.relayed.delete(key);
              void this.#rooms.close(route.name, r.conn);
            }
          this.#log.info({ event: 'relayEdgeGone', room: route.name, edge }, 'a relaying edge went silent');
        }
        this.#releaseIfUnused(route);
      }
    }
  }

  // --- shutdown: hand every room over ---

  /**
   * SIGTERM: every room this edge runs is handed over (its last snapshot saved, its lease released, the
   * relaying edges told to find the next owner), then every socket here is closed with 1012 (ServiceRestart), so
   * that its app resumes on another edge (a rolling restart drops nobody).
   */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    clearInterval(this.#ticker);
    const handovers: Promise<void>[] = [];
    for (const route of this.#routes.values()) {
      const owned = route.state;
      if (owned.kind === 'owner') handovers.push(this.#handOver(route, owned));
    }
    await Promise.all(handovers);
    // Sockets relayed elsewhere: their owner learns that they are gone, then their apps resume elsewhere.
    const closes: Promise<unknown>[] = [];
    for (const route of this.#routes.values()) {
      for (const sock of route.sockets.values()) {
        if (route.state.kind === 'remote' && sock.attached)
          closes.push(this.#request(route.name, { kind: 'close', edge: this.edgeId, conn: sock.id }).catch(() => {}));
      }
    }
    await Promise.all(closes);
    for (const route of this.#routes.values()) {
      for (const sock of route.sockets.values()) sock.ends.close(CloseCode.ServiceRestart, 'edge shutting down');
      route.sockets.clear();
    }
    this.#edgeSub?.unsubscribe();
    await this.#nc.drain().catch(() => {});
  }

  async #handOver(route: Route, owned: Owned): Promise<void> {
    const room = this.#rooms.room(route.name);
    // Frames that arrive from now on wait in the sockets' outboxes or get NOT_OWNER: the next owner takes them.
    // What the room sends for the requests it finishes still goes out until it is dropped.
    owned.handingOver = true;
    route.state = { kind: 'leaving' };
    try {
      await Promise.race([room?.settled(), sleep(5_000)]);
    } catch (err) {
      this.#log.warn({ room: route.name, ...errorFields(err) }, 'the last request before the handover failed');
    }
    // The last write must have landed before the lease goes: the next owner reads exactly that.
    await owned.store.revoke();
    this.#dropOwned(route, owned);
    await owned.lease.release();
    await this.#nc.flush().catch(() => {});
    this.#log.info({ event: 'roomHandedOver', room: route.name }, 'room handed over');
  }
}

/** Whether what the room sends still reaches its sockets: it runs here, or finishes its requests before a handover. */
function speaksFor(route: Route, owned: Owned): boolean {
  return route.state === owned || owned.handingOver;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
