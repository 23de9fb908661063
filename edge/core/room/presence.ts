/**
 * How a room talks to the people in it: replies, events to one or to all, events kept for someone whose
 * socket is down (replayed after their `resume`), and the lobby list for moderators. Sockets are found
 * through `deps.connections()` and their `participantId` each time, never kept: after a wake-up only
 * the runtime knows them.
 */
import { ErrorCode, toWireError } from '../../../shared/errors.ts';
import type { EventData, EventName } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import { errorFields } from '../logger.ts';
import type { RoomContext } from './context.ts';

/** Events for one participant kept while its socket is down (see sendTo). */
const MISSED_EVENTS_KEPT = 16;

/**
 * Moderators get at most one lobbyChanged per this interval: a burst of arrivals (issue 10: 300 guests
 * in seconds) is one list, not one list per arrival for every moderator. The first change goes at once.
 */
const LOBBY_NOTIFY_MS = 500;

export class Presence {
  readonly #ctx: RoomContext;
  /** When the last lobbyChanged went out, and whether a later one is due (see LOBBY_NOTIFY_MS). */
  #lobbySentAt = -Infinity;
  #lobbyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Events waiting for a join reply, by participant (see hold). */
  readonly #held = new Map<string, string[]>();

  constructor(ctx: RoomContext) {
    this.#ctx = ctx;
  }

  connectionOf(participantId: string): Connection | undefined {
    for (const c of this.#ctx.deps.connections()) if (c.participantId === participantId) return c;
    return undefined;
  }

  /**
   * Sends a frame, ignoring a socket that is already gone: its close event does the clean-up, and one
   * dead socket must never stop a broadcast.
   */
  trySend(conn: Connection, frame: string): void {
    const held = conn.participantId === undefined ? undefined : this.#held.get(conn.participantId);
    if (held) held.push(frame);
    else this.#sendNow(conn, frame);
  }

  /**
   * Events for this socket wait until `release`: a joiner whose reply waits for its transports
   * (Room.#joinMedia) must not get events before it, since a client listens only once it has joined.
   */
  hold(conn: Connection): void {
    if (conn.participantId !== undefined) this.#held.set(conn.participantId, []);
  }

  /** Sends what `hold` kept, in order; from now on events go out at once. */
  release(conn: Connection): void {
    const pid = conn.participantId;
    const held = pid === undefined ? undefined : this.#held.get(pid);
    if (!held) return;
    this.#held.delete(pid!);
    for (const frame of held) this.#sendNow(conn, frame);
  }

  #sendNow(conn: Connection, frame: string): void {
    try {
      conn.send(frame);
    } catch (err) {
      this.#ctx.deps.log.debug(
        { room: this.#ctx.name, participant: conn.participantId, ...errorFields(err) },
        'send failed',
      );
    }
  }

  reply(conn: Connection, id: number, result: unknown): void {
    this.#sendNow(conn, JSON.stringify({ id, ok: true, result }));
  }

  /** The error reply to a request; only unexpected failures (INTERNAL) are logged as errors. */
  replyError(conn: Connection, id: number | null, err: unknown): void {
    const wire = toWireError(err);
    if (wire.code === ErrorCode.Internal)
      this.#ctx.deps.log.error({ room: this.#ctx.name, ...errorFields(err) }, 'request failed');
    this.#sendNow(conn, JSON.stringify({ id, ok: false, error: wire }));
  }

  /** An event on one socket, whether or not it has joined (`admitted` goes to someone in the lobby). */
  send<E extends EventName>(conn: Connection, event: E, data: EventData<E>): void {
    this.trySend(conn, JSON.stringify({ event, data }));
  }

  /** An event for everyone in the room (not the lobby), but `exceptParticipantId`. */
  broadcast<E extends EventName>(event: E, data: EventData<E>, exceptParticipantId?: string): void {
    const frame = JSON.stringify({ event, data });
    for (const conn of this.#ctx.deps.connections()) {
      const pid = conn.participantId;
      if (pid && pid !== exceptParticipantId && this.#ctx.state.participants.has(pid)) this.trySend(conn, frame);
    }
  }

  /**
   * An event for one participant. One whose socket is down (within its grace period) gets it after its
   * `resume` instead; only the last MISSED_EVENTS_KEPT are kept (a client away that long re-syncs anyway).
   */
  sendTo<E extends EventName>(participantId: string, event: E, data: EventData<E>): void {
    const conn = this.connectionOf(participantId);
    if (conn) return this.send(conn, event, data);
    const p = this.#ctx.state.participants.get(participantId);
    if (p?.disconnectedAt !== undefined) this.#ctx.state.keepMissed(participantId, { event, data }, MISSED_EVENTS_KEPT);
  }

  /** After a resume: what concerned only this participant while its socket was down, in order. */
  replayMissed(conn: Connection): void {
    const p = conn.participantId ? this.#ctx.state.participants.get(conn.participantId) : undefined;
    if (!p?.missed) return;
    // Before what is held for it (Room.#dispatch releases that next): these are older.
    for (const m of this.#ctx.state.takeMissed(p.id)) this.#sendNow(conn, JSON.stringify(m));
  }

  /** A moderator who enters (or comes back) sees who already waits, not only the next change. */
  showLobbyTo(conn: Connection): void {
    if (
      this.#ctx.state.lobby.size > 0 &&
      this.#ctx.state.participants.get(conn.participantId ?? '')?.role === 'moderator'
    )
      this.trySend(conn, this.#lobbyFrame());
  }

  /** Tells the moderators who waits: at once if no list went out lately, else once at the end of the interval, with the list as it is then. */
  notifyLobby(): void {
    if (this.#lobbyTimer !== undefined) return;
    const wait = this.#lobbySentAt + (this.#ctx.deps.lobbyNotifyMs ?? LOBBY_NOTIFY_MS) - Date.now();
    if (wait <= 0) return this.#sendLobby();
    this.#lobbyTimer = setTimeout(() => {
      this.#lobbyTimer = undefined;
      this.#sendLobby();
    }, wait);
  }

  #sendLobby(): void {
    this.#lobbySentAt = Date.now();
    const frame = this.#lobbyFrame();
    for (const c of this.#ctx.deps.connections()) {
      const p = c.participantId ? this.#ctx.state.participants.get(c.participantId) : undefined;
      if (p?.role === 'moderator') this.trySend(c, frame);
    }
  }

  #lobbyFrame(): string {
    return JSON.stringify({
      event: 'lobbyChanged',
      data: {
        waiting: [...this.#ctx.state.lobby.values()].map((e) => ({
          id: e.id,
          name: e.name,
          verified: e.verified ?? false,
        })),
      },
    });
  }
}
