/**
 * What the owner of a room does for sockets that other edges relay to it (docs/edge-cluster.md): it takes
 * their frames on the room's subject (ToOwner, acked at once), makes each socket a Connection of the local
 * Room, sends what the room says to it back on the relaying edge's subject (ToRelay), and closes the
 * sockets of a relaying edge that went silent.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MediaEvent } from '../../shared/control.ts';
import type { Connection } from '../core/connection.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { InProcessRooms } from '../node/room-host.ts';
import {
  edgeSubject,
  fieldHeaders,
  headerFields,
  type OwnerAck,
  roomSubject,
  ToOwner,
  type ToRelay,
} from './relay-messages.ts';
import { type Owned, type Route, reattach, safeJson, speaksFor } from './room-route.ts';

export interface OwnerSideOptions {
  edgeId: string;
  nc: NatsConnection;
  rooms: InProcessRooms;
  log: Logger;
  /** Gives the room's lease back if nobody is left in it (ClusterRooms). */
  releaseIfUnused(route: Route): void;
}

export class OwnerSide {
  readonly #edgeId: string;
  readonly #nc: NatsConnection;
  readonly #rooms: InProcessRooms;
  readonly #log: Logger;
  readonly #releaseIfUnused: (route: Route) => void;

  constructor({ edgeId, nc, rooms, log, releaseIfUnused }: OwnerSideOptions) {
    this.#edgeId = edgeId;
    this.#nc = nc;
    this.#rooms = rooms;
    this.#log = log;
    this.#releaseIfUnused = releaseIfUnused;
  }

  /** Listens on the room's subject: relaying edges find this edge there from now on. */
  listen(route: Route, owned: Owned): Subscription {
    return this.#nc.subscribe(roomSubject(route.name), {
      callback: (_err, msg) => this.#toOwner(route, owned, msg),
    });
  }

  /** The room is no longer run here: the relaying edges are told to find the next owner now. */
  forgetRelayed(route: Route, owned: Owned): void {
    for (const edge of new Set([...owned.relayed.values()].map((r) => r.edge)))
      this.#publish(edge, { kind: 'moved', room: route.name, edge: this.#edgeId });
    owned.relayed.clear();
  }

  /** Closes the sockets of relaying edges not heard from for `silenceMs`. */
  closeSilentEdges(route: Route, owned: Owned, now: number, silenceMs: number): void {
    for (const [edge, seen] of owned.edgesSeen) {
      if (now - seen < silenceMs) continue;
      owned.edgesSeen.delete(edge);
      for (const [key, r] of owned.relayed)
        if (r.edge === edge) {
          owned.relayed.delete(key);
          void this.#rooms.close(route.name, r.conn);
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
      ack(msg, { ok: true });
      if (!known) this.#openRelayed(route, owned, m.edge, m.conn, key, m.participant);
      return;
    }
    if (m.kind === 'close') {
      ack(msg, { ok: true });
      if (known) {
        owned.relayed.delete(key);
        void this.#rooms.close(route.name, known.conn).then(() => this.#releaseIfUnused(route));
      }
      return;
    }
    if (!known) return ack(msg, { ok: false, code: 'UNKNOWN_CONN' });
    ack(msg, { ok: true });
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
              this.#publish(
                edge,
                { kind: 'frame', edge: this.#edgeId, room: route.name, conn: connId, participant },
                data,
              );
          });
        },
        close: (code, reason) =>
          owned.gate.pass(null, () => {
            if (!current()) return;
            this.#publish(edge, {
              kind: 'close',
              edge: this.#edgeId,
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
    if (participant) void reattach(this.#log, route.name, opened.room, conn, participant);
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
