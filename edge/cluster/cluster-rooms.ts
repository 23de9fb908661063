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
 *
 * This class coordinates: it keeps the routes (room-route.ts), this edge's sockets, and who owns each room.
 * What the owner does for sockets relayed to it is in owner-side.ts; what a relaying edge does for its
 * sockets in rooms owned elsewhere is in relay-side.ts.
 */
import type { MediaEvent } from '../../shared/control.ts';
import { CloseCode } from '../../shared/signaling.ts';
import type { Connection } from '../core/connection.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { RoomStore } from '../core/room/store.ts';
import type { EdgeServices } from '../core/services.ts';
import { InProcessRooms, type SocketEnds } from '../node/room-host.ts';
import type { RoomSocketSink, RoomSocketHandle } from '../node/websocket.ts';
import { CLOSED, ClientSocket, isResent, MAX_WAITING_FRAMES } from './client-socket.ts';
import type { ClusterNats } from './nats.ts';
import { NatsRoomStore } from './nats-room-store.ts';
import { OwnerSide } from './owner-side.ts';
import { RelaySide } from './relay-side.ts';
import { type Lease, RoomLeases } from './room-lease.ts';
import { type Owned, type Route, reattach, speaksFor } from './room-route.ts';
import { SaveGate } from './save-gate.ts';
import type { ClusterSettings } from './settings.ts';

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
  readonly #nats: ClusterNats;
  readonly #leases: RoomLeases;
  readonly #rooms: InProcessRooms;
  readonly #routes = new Map<string, Route>();
  readonly #perAddress = new Map<string, number>();
  readonly #log: Logger;
  /** How often relaying edges probe owners (and owners look for silent relaying edges). */
  readonly #probeMs: number;
  readonly #owner: OwnerSide;
  readonly #relay: RelaySide;
  #ticker: NodeJS.Timeout | undefined;
  #shuttingDown = false;

  constructor({ services, nats, settings, log, maxMessageBytes }: ClusterRoomsOptions) {
    this.edgeId = settings.edgeId;
    this.#nats = nats;
    this.#log = log;
    this.#leases = new RoomLeases(nats.leases, settings.edgeId, settings.leaseMs, log, nats.connected);
    // Snapshots live in NATS; nothing to wake at start (a room is loaded by the edge that takes its lease).
    this.#rooms = new InProcessRooms(services, { store: (name) => this.#storeOf(name), rooms: () => [] });
    this.#probeMs = Math.max(250, settings.leaseMs / 6);
    this.#owner = new OwnerSide({
      edgeId: this.edgeId,
      nc: nats.nc,
      rooms: this.#rooms,
      log,
      releaseIfUnused: (route) => this.#releaseIfUnused(route),
      resendMaxMs: this.#probeMs,
    });
    this.#relay = new RelaySide({
      edgeId: this.edgeId,
      nc: nats.nc,
      log,
      maxMessageBytes,
      requestTimeoutMs: Math.max(1_000, settings.leaseMs / 3),
      route: (name) => this.#routes.get(name),
      lose: (route, owner) => this.#lose(route, owner),
    });
  }

  /** Listens on this edge's subjects and starts the probes. */
  start(): void {
    this.#owner.start();
    this.#relay.start();
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
    } else if (r.state.kind === 'remote') void this.#relay.pump(r, sock);
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
      await this.#relay.request(name, { kind: 'event', edge: this.edgeId, node: nodeId }, JSON.stringify(event));
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
    if (route.state.kind === 'remote') void this.#relay.pump(route, sock);
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
      void this.#relay.pump(route, sock);
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
    if (sock.participantId) void reattach(this.#log, route.name, opened.room, local, sock.participantId);
    for (const item of sock.outbox.splice(0)) {
      if (item === CLOSED) return this.#closed(route, sock);
      const frame = isResent(item) ? item.resent : item;
      if (sock.handedOn(frame, isResent(item))) void opened.room.onMessage(local, frame, isResent(item));
    }
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
            const ack = await this.#relay
              .request(route.name, { kind: 'probe', edge: this.edgeId })
              .catch(() => undefined);
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
      void this.#relay.pump(route, sock);
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
    this.#owner.listen(route, owned);
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
    this.#rooms.drop(route.name);
    this.#owner.stopListening(route, owned);
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
    this.#owner.stopListening(route, owned);
    if (this.#routes.get(route.name) === route) this.#routes.delete(route.name);
    void owned.store.revoke().then(() => owned.lease.release());
  }

  /** Probes remote owners; owners close the sockets of relaying edges gone silent. */
  #tick(): void {
    const now = performance.now();
    for (const route of this.#routes.values()) {
      const state = route.state;
      if (state.kind === 'remote') this.#relay.probe(route, state.owner);
      // A gap in an owner's frames that its resends did not fill within the time an owner waits before it
      // takes a relaying edge for gone: the frame is lost, the socket is closed and its app resumes.
      if (state.kind !== 'owner') this.#relay.closeGaps(route, now, 4 * this.#probeMs);
      else {
        this.#owner.closeSilentEdges(route, state, now, 4 * this.#probeMs);
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
        if (route.state.kind === 'remote' && sock.attached) closes.push(this.#relay.tellClosed(route, sock));
      }
    }
    await Promise.all(closes);
    for (const route of this.#routes.values()) {
      for (const sock of route.sockets.values()) sock.ends.close(CloseCode.ServiceRestart, 'edge shutting down');
      route.sockets.clear();
    }
    this.#relay.stop();
    this.#owner.stop();
    await this.#nats.nc.drain().catch(() => {});
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
    // What the room sent the relayed sockets is in before the room goes (a second at most).
    await this.#owner.drained(owned, 1_000);
    // The last write must have landed before the lease goes: the next owner reads exactly that.
    await owned.store.revoke();
    this.#dropOwned(route, owned);
    await owned.lease.release();
    await this.#nats.nc.flush().catch(() => {});
    this.#log.info({ event: 'roomHandedOver', room: route.name }, 'room handed over');
  }
}
