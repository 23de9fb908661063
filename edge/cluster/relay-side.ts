/**
 * What an edge does for its sockets in rooms that another edge owns (docs/edge-cluster.md): it sends each
 * socket's frames to the owner on the room's subject, one acked request at a time and in order (ToOwner),
 * delivers what the owner sends for them on this edge's subject (ToRelay) once and in order, acking it on
 * the owner's ack subject (relay-inbox.ts; the owner sends again what is not acked), and probes the owner.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { CloseCode } from '../../shared/signaling.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import { CLOSED, type ClientSocket, isResent, type OutboxItem, type OwnerFrame } from './client-socket.ts';
import type { Taken } from './relay-inbox.ts';
import {
  ackSubject,
  edgeSubject,
  fieldHeaders,
  headerFields,
  OwnerAck,
  roomSubject,
  type RelayAck,
  type ToOwner,
  ToRelay,
} from './relay-messages.ts';
import { type Route, safeJson } from './room-route.ts';

export interface RelaySideOptions {
  edgeId: string;
  nc: NatsConnection;
  log: Logger;
  /** The room's frame limit: longer frames are cut to one byte over it before relaying (refused anyway). */
  maxMessageBytes: number;
  /** How long a request to the owner may take before the owner counts as gone. */
  requestTimeoutMs: number;
  /** This edge's route of a room, if it has one. */
  route(name: string): Route | undefined;
  /** The remote owner is gone or said it moved: find the next one (ClusterRooms). */
  lose(route: Route, owner: string): void;
}

export class RelaySide {
  readonly #edgeId: string;
  readonly #nc: NatsConnection;
  readonly #log: Logger;
  readonly #maxMessageBytes: number;
  readonly #requestTimeoutMs: number;
  readonly #route: (name: string) => Route | undefined;
  readonly #lose: (route: Route, owner: string) => void;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  #sub: Subscription | undefined;
  /** Acks to send at the end of this turn, one per socket (the highest number delivered). */
  readonly #acksDue = new Map<string, { owner: string; ack: Omit<RelayAck, 'kind' | 'edge'> }>();

  constructor({ edgeId, nc, log, maxMessageBytes, requestTimeoutMs, route, lose }: RelaySideOptions) {
    this.#edgeId = edgeId;
    this.#nc = nc;
    this.#log = log;
    this.#maxMessageBytes = maxMessageBytes;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#route = route;
    this.#lose = lose;
  }

  /** Listens on this edge's subject, where owners send the frames of the sockets relayed from here. */
  start(): void {
    this.#sub = this.#nc.subscribe(edgeSubject(this.#edgeId), { callback: (_err, msg) => this.#fromOwner(msg) });
  }

  stop(): void {
    this.#sub?.unsubscribe();
  }

  /** "This edge still relays sockets of the room": an owner that does not answer is lost. */
  probe(route: Route, owner: string): void {
    this.request(route.name, { kind: 'probe', edge: this.#edgeId }).then(
      (ack) => !ack.ok && this.#lose(route, owner),
      () => this.#lose(route, owner),
    );
  }

  /**
   * Closes the sockets whose gap in the owner's frames stayed open for `limitMs` (the owner sent again and
   * again and it did not fill: the frame is gone): their apps resume and see the room as it is.
   */
  closeGaps(route: Route, now: number, limitMs: number): void {
    for (const sock of route.sockets.values()) {
      const since = sock.inbox.gapSince;
      if (since !== undefined && now - since > limitMs) this.#framesLost(route, sock, 'a gap did not fill');
    }
  }

  /** Tells the owner that the socket is gone (shutdown); failures are the owner's to notice. */
  async tellClosed(route: Route, sock: ClientSocket): Promise<void> {
    await this.request(route.name, { kind: 'close', edge: this.#edgeId, conn: sock.id }).catch(() => {});
  }

  /** Sends what waits in the socket's outbox to the remote owner, one acked request at a time. */
  async pump(route: Route, sock: ClientSocket): Promise<void> {
    if (sock.pumping) return;
    sock.pumping = true;
    let owner = '';
    try {
      while (route.state.kind === 'remote' && (sock.outbox.length > 0 || !sock.attached)) {
        owner = route.state.owner;
        const base = { edge: this.#edgeId, conn: sock.id };
        if (!sock.attached) {
          if (sock.outbox[0] === CLOSED && !sock.participantId) {
            route.sockets.delete(sock.id);
            return;
          }
          const ack = await this.request(route.name, {
            kind: 'open',
            ...base,
            participant: sock.participantId,
            numbered: '1',
          });
          if (!ack.ok) return this.#lose(route, owner);
          sock.attached = true;
          // Frames of this stream that came before the ack was read here go out now.
          if (ack.stream) this.#apply(route, sock, owner, sock.inbox.bind(ack.stream, performance.now()));
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
      // which applies it only if it was not (a lone requeue too: lose may have run already).
      sock.requeueUnanswered();
      this.#lose(route, owner);
    } finally {
      sock.pumping = false;
    }
  }

  /** A request to the room's owner; its ack parsed (a malformed ack counts as a lost owner). */
  async request(room: string, fields: ToOwner, body?: string | Uint8Array): Promise<OwnerAck> {
    const h = natsHeaders();
    for (const [k, v] of fieldHeaders(fields)) h.set(k, v);
    const reply = await this.#nc.request(roomSubject(room), body ?? '', {
      timeout: this.#requestTimeoutMs,
      headers: h,
    });
    const ack = OwnerAck.safeParse(safeJson(reply.string()));
    return ack.success ? ack.data : { ok: false, code: 'NOT_OWNER' };
  }

  /**
   * One outbox item to the remote owner. A frame is kept as handed on from now (its reply may come before
   * the ack); one the owner refused stays queued. A frame sent again whose reply came meanwhile is done.
   */
  async #send(room: string, sock: ClientSocket, base: { edge: string; conn: string }, item: OutboxItem) {
    if (item === CLOSED) return this.request(room, { kind: 'close', ...base });
    const resent = isResent(item);
    const frame = resent ? item.resent : item;
    if (!sock.handedOn(frame, resent)) return { ok: true } as const;
    const ack = await this.request(
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

  #fromOwner(msg: Msg): void {
    const parsed = ToRelay.safeParse(headerFields(msg.headers));
    if (!parsed.success) {
      this.#log.warn({ event: 'clusterBadMessage' }, 'a relay message that is not one was ignored');
      return;
    }
    const m = parsed.data;
    const route = this.#route(m.room);
    if (!route) return;
    const fromOwner = route.state.kind === 'remote' && route.state.owner === m.edge;
    if (m.kind === 'moved') return fromOwner ? this.#lose(route, m.edge) : undefined;
    const frame: OwnerFrame =
      m.kind === 'frame'
        ? { kind: 'frame', data: this.#decoder.decode(msg.data), participant: m.participant }
        : { kind: 'close', code: m.code, reason: m.reason };
    const sock = route.sockets.get(m.conn);
    // An owner of an older version: frames unnumbered, delivered as they come.
    if (m.stream === undefined && m.seq === undefined) {
      if (fromOwner && sock) this.#deliver(sock, frame);
      return;
    }
    if (m.stream === undefined || m.seq === undefined) {
      this.#log.debug({ room: m.room, edge: m.edge }, 'a relay frame with half a number was ignored');
      return;
    }
    // The socket is gone here (its owner hears so from its close): nothing to deliver, nothing to send again.
    if (!sock) return this.#ackLater(m.edge, { room: m.room, conn: m.conn, stream: m.stream, seq: m.seq });
    // A stream the socket knows is taken whatever the route's state (the owner that sent it may have
    // stepped down since); a new one only from the owner this edge relays to.
    if (!fromOwner && !sock.inbox.knows(m.stream)) return;
    this.#apply(route, sock, m.edge, sock.inbox.take(m.stream, m.seq, frame, performance.now()));
  }

  /** Delivers what the inbox let through, in order, and acks it; a lost frame closes the socket. */
  #apply(route: Route, sock: ClientSocket, owner: string, taken: Taken<OwnerFrame>): void {
    if (taken.lost) return this.#framesLost(route, sock, 'more frames held than the bound');
    for (const frame of taken.ready) {
      this.#deliver(sock, frame);
      if (frame.kind === 'close') break;
    }
    if (taken.ack !== undefined && taken.stream !== undefined)
      this.#ackLater(owner, { room: route.name, conn: sock.id, stream: taken.stream, seq: taken.ack });
  }

  #deliver(sock: ClientSocket, frame: OwnerFrame): void {
    if (frame.kind === 'frame') {
      sock.participantId = frame.participant;
      sock.deliver(frame.data);
    } else {
      sock.participantId = undefined;
      sock.ends.close(frame.code, frame.reason);
    }
  }

  /** A frame from the owner is lost for good: the app resumes and sees the room as it is. */
  #framesLost(route: Route, sock: ClientSocket, why: string): void {
    this.#log.warn(
      { event: 'relayFramesLost', room: route.name, why },
      'frames from the room owner were lost; the socket is closed so that its app resumes',
    );
    sock.ends.close(CloseCode.FramesLost, 'frames from the room were lost; resume');
  }

  /** Acks go out once this turn's messages are read: one per socket, however many frames came. */
  #ackLater(owner: string, ack: Omit<RelayAck, 'kind' | 'edge'>): void {
    const key = `${ack.stream}/${ack.conn}`;
    const due = this.#acksDue.get(key);
    if (due) due.ack.seq = Math.max(due.ack.seq, ack.seq);
    else {
      if (this.#acksDue.size === 0) setImmediate(() => this.#sendAcks());
      this.#acksDue.set(key, { owner, ack: { ...ack } });
    }
  }

  #sendAcks(): void {
    for (const { owner, ack } of this.#acksDue.values()) {
      const h = natsHeaders();
      for (const [k, v] of fieldHeaders({ kind: 'ack', edge: this.#edgeId, ...ack } satisfies RelayAck)) h.set(k, v);
      try {
        this.#nc.publish(ackSubject(owner), '', { headers: h });
      } catch (err) {
        // Closed or draining: the owner sends again, or forgets the socket.
        this.#log.debug({ owner, ...errorFields(err) }, 'relay ack publish failed');
      }
    }
    this.#acksDue.clear();
  }
}
