/**
 * What the owner of a room does for sockets that other edges relay to it (docs/edge-cluster.md): it takes
 * their frames on the room's subject (ToOwner, acked at once), makes each socket a Connection of the local
 * Room, sends what the room says to it back on the relaying edge's subject (ToRelay), numbered and sent
 * again until the relaying edge acks it (relay-outbox.ts), and closes the sockets of a relaying edge that
 * went silent.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MediaEvent } from '../../shared/control.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { InProcessRooms } from '../node/room-host.ts';
import {
  ackSubject,
  edgeSubject,
  fieldHeaders,
  headerFields,
  type OwnerAck,
  RelayAck,
  roomSubject,
  ToOwner,
  type ToRelay,
} from './relay-messages.ts';
import { RelayOutbox } from './relay-outbox.ts';
import {
  type OwnerFrameOut,
  type Owned,
  type RelayedSocket,
  type Route,
  reattach,
  safeJson,
  speaksFor,
} from './room-route.ts';

export interface OwnerSideOptions {
  edgeId: string;
  nc: NatsConnection;
  rooms: InProcessRooms;
  log: Logger;
  /** Gives the room's lease back if nobody is left in it (ClusterRooms). */
  releaseIfUnused(route: Route): void;
  /** The longest wait between two resends of an unacked frame (the probe interval). */
  resendMaxMs: number;
}

export class OwnerSide {
  readonly #edgeId: string;
  readonly #nc: NatsConnection;
  readonly #rooms: InProcessRooms;
  readonly #log: Logger;
  readonly #releaseIfUnused: (route: Route) => void;
  /**
   * The rooms whose subject this edge listens on, by name: acks come on one subject for all of them, and
   * still count while a room is handed over (its route is `leaving` by then).
   */
  readonly #serving = new Map<string, { route: Route; owned: Owned }>();
  readonly #resendMaxMs: number;
  /**
   * Outboxes of rooms no longer run here, by stream: what was sent before the room moved is sent again
   * until acked, for as long as an owner waits for a silent relaying edge (then given up).
   */
  readonly #draining = new Map<string, RelayOutbox<OwnerFrameOut>>();
  #acks: Subscription | undefined;

  constructor({ edgeId, nc, rooms, log, releaseIfUnused, resendMaxMs }: OwnerSideOptions) {
    this.#edgeId = edgeId;
    this.#nc = nc;
    this.#rooms = rooms;
    this.#log = log;
    this.#releaseIfUnused = releaseIfUnused;
    this.#resendMaxMs = resendMaxMs;
  }

  /** Listens for the relaying edges' acks of the frames this edge sent them. */
  start(): void {
    this.#acks = this.#nc.subscribe(ackSubject(this.#edgeId), { callback: (_err, msg) => this.#acked(msg) });
  }

  stop(): void {
    this.#acks?.unsubscribe();
    for (const out of this.#draining.values()) out.stop();
    this.#draining.clear();
  }

  /** Resolves once the relaying edges have acked every frame of the room, or after `ms` (handover). */
  async drained(owned: Owned, ms: number): Promise<void> {
    await Promise.all([...owned.relayed.values()].map((r) => r.out?.drained(ms)));
  }

  /** Listens on the room's subject: relaying edges find this edge there from now on. */
  listen(route: Route, owned: Owned): void {
    owned.sub = this.#nc.subscribe(roomSubject(route.name), {
      callback: (_err, msg) => this.#toOwner(route, owned, msg),
    });
    this.#serving.set(route.name, { route, owned });
  }

  /**
   * The room is no longer run here: nothing more is taken from the room's subject, nothing is sent again,
   * and the relaying edges are told to find the next owner now.
   */
  stopListening(route: Route, owned: Owned): void {
    owned.sub?.unsubscribe();
    if (this.#serving.get(route.name)?.owned === owned) this.#serving.delete(route.name);
    for (const edge of new Set([...owned.relayed.values()].map((r) => r.edge)))
      this.#publish(edge, { kind: 'moved', room: route.name, edge: this.#edgeId });
    for (const r of owned.relayed.values()) if (r.out) this.#drain(r.out);
    owned.relayed.clear();
  }

  #drain(out: RelayOutbox<OwnerFrameOut>): void {
    if (out.unacked === 0) return out.stop();
    this.#draining.set(out.stream, out);
    setTimeout(() => {
      out.stop();
      this.#draining.delete(out.stream);
    }, 4 * this.#resendMaxMs).unref();
  }

  /** Closes the sockets of relaying edges not heard from for `silenceMs`. */
  closeSilentEdges(route: Route, owned: Owned, now: number, silenceMs: number): void {
    for (const [edge, seen] of owned.edgesSeen) {
      if (now - seen < silenceMs) continue;
      owned.edgesSeen.delete(edge);
      for (const [key, r] of owned.relayed)
        if (r.edge === edge) {
          owned.relayed.delete(key);
          r.out?.stop();
          if (!r.closing) void this.#rooms.close(route.name, r.conn);
        }
      this.#log.info({ event: 'relayEdgeGone', room: route.name, edge }, 'a relaying edge went silent');
    }
  }

  #toOwner(route: Route, owned: Owned, msg: Msg): void {
    const parsed = ToOwner.safeParse(headerFields(msg.headers));
    if (!parsed.success) {
      this.#log.warn({ event: 'clusterBadMessage', room: route.name }, 'a relay message that is not one was ignored');
      return;
    }
    const m = parsed.data;
    if (route.state !== owned || !owned.lease.held) return ack(msg, { ok: false, code: 'NOT_OWNER' });
    owned.edgesSeen.set(m.edge, performance.now());
    if (m.kind === 'probe') return ack(msg, { ok: true });
    if (m.kind === 'event') {
      ack(msg, { ok: true });
      const event = MediaEvent.safeParse(safeJson(msg.string()));
      if (event.success) void this.#rooms.event(route.name, m.node, event.data);
      return;
    }
    const key = `${m.edge}/${m.conn}`;
    const known = owned.relayed.get(key);
    if (m.kind === 'open') {
      // An open again of a socket known here (its edge lost the ack): its stream goes on.
      const relayed = known ?? this.#openRelayed(route, owned, m.edge, m.conn, key, m.numbered === '1', m.participant);
      return ack(msg, { ok: true, stream: relayed.out?.stream });
    }
    if (m.kind === 'close') {
      ack(msg, { ok: true });
      if (known) {
        owned.relayed.delete(key);
        known.out?.stop();
        if (known.closing) this.#releaseIfUnused(route);
        else void this.#rooms.close(route.name, known.conn).then(() => this.#releaseIfUnused(route));
      }
      return;
    }
    if (!known) return ack(msg, { ok: false, code: 'UNKNOWN_CONN' });
    ack(msg, { ok: true });
    // The room closed the socket: what it sent after that is dropped, as on a local socket.
    if (known.closing) return;
    const room = this.#rooms.room(route.name);
    if (room) void room.onMessage(known.conn, m.binary ? msg.data.slice().buffer : msg.string(), m.resent === '1');
  }

  #openRelayed(
    route: Route,
    owned: Owned,
    edge: string,
    connId: string,
    key: string,
    numbered: boolean,
    participant?: string,
  ): RelayedSocket {
    let relayed: RelayedSocket | undefined;
    const current = () => relayed !== undefined && owned.relayed.get(key) === relayed && speaksFor(route, owned);
    const out = numbered
      ? new RelayOutbox<OwnerFrameOut>({
          send: ({ seq, frame }) => this.#publish(edge, { ...frame.fields, stream: out!.stream, seq }, frame.body),
          resendMaxMs: this.#resendMaxMs,
          overflowed: () =>
            this.#log.warn(
              { event: 'relayOutboxFull', room: route.name, edge },
              'a relaying edge acks nothing: the oldest frames for its socket are given up',
            ),
        })
      : undefined;
    // A relaying edge of an older version acks nothing: its frames go out once, unnumbered.
    const send = (frame: OwnerFrameOut) => (out ? out.push(frame) : this.#publish(edge, frame.fields, frame.body));
    const opened = this.#rooms.open(
      route.name,
      {
        send: (data) => {
          // Who the socket is joined as when the frame is sent, not when it leaves the gate.
          const participant = relayed!.conn.participantId;
          owned.gate.pass(data, () => {
            if (current() && !relayed!.closing)
              send({
                fields: { kind: 'frame', edge: this.#edgeId, room: route.name, conn: connId, participant },
                body: data,
              });
          });
        },
        close: (code, reason) =>
          owned.gate.pass(null, () => {
            if (!current() || relayed!.closing) return;
            const fields = { edge: this.#edgeId, room: route.name, conn: connId, code, reason: reason.slice(0, 123) };
            send({ fields: { kind: 'close', ...fields } });
            // As the close event of a local socket would: the room learns that the socket is gone. The
            // close stays in the outbox until acked (the entry with it); without an outbox it is gone now.
            const r = relayed!;
            r.closing = true;
            if (!out) owned.relayed.delete(key);
            setImmediate(() => void this.#rooms.close(route.name, r.conn).then(() => this.#releaseIfUnused(route)));
          }),
      },
      undefined,
      key,
    );
    relayed = { edge, conn: opened.conn, out, closing: false };
    owned.relayed.set(key, relayed);
    if (participant) void reattach(this.#log, route.name, opened.room, opened.conn, participant);
    return relayed;
  }

  /** A relaying edge has the frames of a socket's stream up to `seq`; a closed socket's entry goes with its close. */
  #acked(msg: Msg): void {
    const parsed = RelayAck.safeParse(headerFields(msg.headers));
    if (!parsed.success) {
      this.#log.debug({ event: 'clusterBadMessage' }, 'a relay ack that is not one was ignored');
      return;
    }
    const m = parsed.data;
    const draining = this.#draining.get(m.stream);
    if (draining) {
      draining.acked(m.seq);
      if (draining.unacked === 0) {
        draining.stop();
        this.#draining.delete(m.stream);
      }
      return;
    }
    const serving = this.#serving.get(m.room);
    if (!serving) return;
    const { route, owned } = serving;
    owned.edgesSeen.set(m.edge, performance.now());
    const key = `${m.edge}/${m.conn}`;
    const relayed = owned.relayed.get(key);
    if (!relayed?.out || relayed.out.stream !== m.stream) return;
    relayed.out.acked(m.seq);
    if (relayed.closing && relayed.out.unacked === 0) {
      relayed.out.stop();
      owned.relayed.delete(key);
      this.#releaseIfUnused(route);
    }
  }

  #publish(edge: string, fields: ToRelay, body?: string): void {
    const h = natsHeaders();
    for (const [k, v] of fieldHeaders(fields)) h.set(k, v);
    try {
      this.#nc.publish(edgeSubject(edge), body ?? '', { headers: h });
    } catch (err) {
      this.#log.debug({ edge, ...errorFields(err) }, 'relay publish failed');
    }
  }
}

function ack(msg: Msg, ack: OwnerAck): void {
  msg.respond(JSON.stringify(ack));
}
