/**
 * What an edge does for its sockets in rooms that another edge owns (docs/edge-cluster.md): it sends each
 * socket's frames to the owner on the room's subject, one acked request at a time and in order (ToOwner),
 * delivers what the owner sends for them on this edge's subject (ToRelay), and probes the owner.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { errorFields, type Logger } from '../core/logger.ts';
import { CLOSED, type ClientSocket, isResent, type OutboxItem } from './client-socket.ts';
import {
  edgeSubject,
  fieldHeaders,
  headerFields,
  OwnerAck,
  roomSubject,
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
          const ack = await this.request(route.name, { kind: 'open', ...base, participant: sock.participantId });
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
}
