/**
 * The room actor: reads every frame a participant sends (frames.ts), runs requests in the room's order
 * (RoomQueue: whatever concerns the room one at a time, each participant's own media calls in its own lane,
 * side by side with the others'), hands each to its handler and saves the room state after every change
 * (SnapshotSaver). Runtime-neutral:
 * a room host (in-process on Node, a Durable Object on Cloudflare) owns one Room per room name and feeds
 * it socket events. The room's concerns live next to it: admission, presence, media, moderation,
 * failover, the roster; each gets a narrow context, not the Room.
 *
 * Every wake-up may be a cold start: the state is loaded from the RoomStore before the first request
 * and saved after every change; sockets are found again through `connections()` and their
 * `participantId`, never through memory.
 */
import type { AdminRoom } from '../../../shared/admin.ts';
import type { MediaEvent } from '../../../shared/control.ts';
import { ErrorCode, toWireError, TreffpunktError } from '../../../shared/errors.ts';
import { CloseCode, type Method, type Params, type Result } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import { errorFields } from '../logger.ts';
import { NodeUnreachableError } from '../media-node-client.ts';
import { now, secondsSince } from '../metrics.ts';
import { RoomQueue } from '../room-queue.ts';
import { Admission } from './admission.ts';
import type { Handler, Handlers, RoomContext, RoomDeps } from './context.ts';
import { Failover } from './failover.ts';
import { readFrame, type Request } from './frames.ts';
import { MediaFailures } from './media-failures.ts';
import { isMediaMethod, RoomMedia } from './media.ts';
import { Moderation } from './moderation.ts';
import { RoomPipes } from './pipes.ts';
import { Presence } from './presence.ts';
import { Roster } from './roster.ts';
import { SnapshotSaver } from './snapshot-saver.ts';
import { RoomState } from './state.ts';

export type { GuestPolicy, RoomAccess, RoomDeps } from './context.ts';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };
/** Runs a task in the room's queue: exclusive, or in one participant's lane. */
type Enqueue = <T>(task: () => Promise<T>) => Promise<T>;

export class Room {
  readonly name: string;
  readonly #deps: RoomDeps;
  readonly #state: RoomState;
  readonly #queue = new RoomQueue();
  readonly #saver: SnapshotSaver;
  /** What the store holds, as this actor last wrote it (unknown before its first save). */
  #savedText: string | undefined;
  #loaded = false;
  #loading: Promise<void> | undefined;
  /** The room runs on another edge now (retire): nothing more is applied here. */
  #retired = false;
  readonly #presence: Presence;
  readonly #admission: Admission;
  readonly #roster: Roster;
  readonly #media: RoomMedia;
  readonly #failover: Failover;
  readonly #moderation: Moderation;
  /** Method → handler: each part brings the handlers of its methods; the type makes sure none is missing. */
  readonly #handlers: Handlers<Method>;

  constructor(name: string, deps: RoomDeps) {
    this.name = name;
    this.#deps = deps;
    this.#state = new RoomState(name, deps.capacity);
    this.#saver = new SnapshotSaver(async () => {
      // Removal bars outlive the meeting's last participant: the snapshot stays until they run out.
      const snapshot = this.#state.nothingToKeep(Date.now()) ? undefined : this.#state.toSnapshot();
      // Most media requests change nothing the room keeps (connectTransport, resumeConsumer, layers): a
      // write of the same snapshot again (a SQLite row, a replicated NATS write) would only cost time.
      const text = snapshot === undefined ? '' : JSON.stringify(snapshot);
      if (text === this.#savedText) return;
      await deps.store.save(snapshot);
      this.#savedText = text;
    });
    const ctx: RoomContext = { name, deps, state: this.#state };
    const presence = new Presence(ctx);
    const pipes = new RoomPipes(ctx);
    const media = new RoomMedia(ctx, { presence, pipes });
    const failover = new Failover(ctx, { presence, media, pipes });
    const roster = new Roster(ctx, { presence, media, pipes, failover });
    const admission = new Admission(ctx, { presence, media, roster });
    const moderation = new Moderation(ctx, { presence, media, roster });
    this.#presence = presence;
    this.#admission = admission;
    this.#roster = roster;
    this.#media = media;
    this.#failover = failover;
    this.#moderation = moderation;
    this.#handlers = {
      ...admission.handlers,
      ...roster.handlers,
      ...media.handlers,
      ...moderation.handlers,
      ...new MediaFailures(ctx).handlers,
      ...failover.handlers,
      ping: async () => ({ time: Date.now() }),
    };
  }

  get participantCount(): number {
    return this.#state.size;
  }

  /** Nothing to keep: no participants and no removal bars still running (the Node host may forget the room). */
  get idle(): boolean {
    return this.#state.size === 0 && this.#state.pruneBars(Date.now()) === Infinity;
  }

  /**
   * Resolves when every request queued so far has run (and saved): the Node edge waits on it at SIGTERM,
   * a cluster edge before it hands the room over.
   */
  async settled(): Promise<void> {
    await this.#queue.exclusive(async () => {});
    await this.#saver.save();
  }

  /**
   * The room moved to another edge of a cluster: requests still waiting in the queue are not started
   * here (they fail with ROOM_MOVED, an answer nobody hears: the edge holding each socket sends them on to
   * the next owner). Only the one running at that moment can have touched a media node.
   */
  retire(): void {
    this.#retired = true;
  }

  /**
   * Handles one frame. Never throws: every failure becomes an error reply with a stable code. `resent`:
   * an edge of a cluster sends it again because the room moved before it was answered (see #once).
   */
  async onMessage(conn: Connection, frame: string | ArrayBuffer, resent = false): Promise<void> {
    const incoming = readFrame(conn, frame, this.#deps.maxMessageBytes);
    if (incoming.kind === 'flooding') {
      this.#deps.log.warn(
        { security: true, event: 'rateLimitClose', room: this.name, participant: conn.participantId },
        'security: a flooding connection was closed (4008)',
      );
      conn.close(CloseCode.RateLimited, 'too many messages');
    } else if (incoming.kind === 'rateLimited') this.#presence.trySend(conn, incoming.reply);
    else if (incoming.kind === 'refused') this.#presence.replyError(conn, incoming.id, incoming.error);
    else await this.#dispatch(conn, incoming.request, resent);
  }

  async #dispatch(conn: Connection, { id, method, params }: Request, resent: boolean): Promise<void> {
    // Not joined: refused at once, without queueing behind the room's work (a stranger's flood must not
    // delay the participants' requests).
    if (!conn.participantId && method !== 'join' && method !== 'resume' && method !== 'ping') {
      return this.#presence.replyError(conn, id, new TreffpunktError(ErrorCode.NotJoined, 'join the room first'));
    }
    const verified = method === 'join' ? await this.#admission.preVerify(conn, id, params) : undefined;
    if (verified === null) return;
    const handler = this.#handlers[method] as Handler<Method>;
    const entering = method === 'join' || method === 'resume';
    // ping is answered at once: a keep-alive must not wait behind slow media node calls.
    const run = async () => {
      const result = await handler(conn, params, verified);
      // A client listens only once it has its join or resume reply, and the reply waits for the save
      // (and a join's transports), outside the room's one-at-a-time part: another join there would send
      // this socket its participantJoined first, and the client would never know that person. So the
      // socket's events wait from here, still inside that part, until the reply is out (Presence.hold).
      if (entering) this.#presence.hold(conn);
      return result;
    };
    const start = now();
    try {
      const once = () => this.#once(conn, id, resent, run);
      const result = await (method === 'ping'
        ? run()
        : this.#change(isMediaMethod(method) ? this.#laneOf(conn.participantId!) : this.#exclusive, once));
      if (method === 'join') await this.#joinMedia(conn, params as Params<'join'>, result as Result<'join'>);
      this.#deps.metrics?.request(method, 'ok', secondsSince(start));
      this.#presence.reply(conn, id, result);
      // What it missed while away, then what came while its resume was being answered.
      if (method === 'resume') this.#presence.replayMissed(conn);
      this.#presence.release(conn);
      if (entering) this.#presence.showLobbyTo(conn);
      // After the reply: these requests end the connection.
      if (method === 'leave') conn.close(CloseCode.Left, 'left');
      if (method === 'endMeeting') conn.close(CloseCode.MeetingEnded, 'the meeting was ended');
    } catch (err) {
      if (err instanceof NodeUnreachableError) this.#failover.suspect(err.nodeId);
      this.#deps.metrics?.request(method, toWireError(err).code, secondsSince(start));
      this.#presence.replyError(conn, id, err);
      this.#presence.release(conn);
    }
  }

  /**
   * The transports a join asked for (JoinMedia), made after the join itself, in the newcomer's lane: the
   * room's exclusive part of a join stays as short as without them, so concurrent joins do not queue
   * behind each other's node calls. Events for the newcomer are held until the join reply is out
   * (#dispatch): the client listens only from then on.
   */
  async #joinMedia(conn: Connection, params: Params<'join'>, result: Result<'join'>): Promise<void> {
    const pid = conn.participantId;
    if (!params.media || !pid) return;
    try {
      const transports = await this.#change(this.#laneOf(pid), () => this.#media.joinTransports(conn, params.media!));
      if (transports) result.transports = transports;
    } catch (err) {
      // The join stands: the client makes its transports itself.
      this.#deps.log.warn({ room: this.name, ...errorFields(err) }, 'join transports not made');
    }
  }

  /**
   * Runs a request of a cluster socket at most once (applied-requests.ts): the record of it is saved with
   * the change it made, so a request sent again after the room moved that the record knows was applied
   * (by the old owner, whose reply was lost) is answered REPLY_LOST instead of being applied again.
   */
  async #once<T>(conn: Connection, id: number, resent: boolean, run: () => Promise<T>): Promise<T> {
    const socketId = conn.socketId;
    if (socketId === undefined) return run();
    if (resent && this.#state.applied.has(socketId, id))
      throw new TreffpunktError(
        ErrorCode.ReplyLost,
        'the room moved to another server after this request was applied and its answer was lost; resume to see the room as it is',
      );
    try {
      return await run();
    } finally {
      this.#state.applied.record(socketId, id, Date.now());
    }
  }

  /**
   * A socket whose participant is already in the room comes back without a `resume` of its own: the room
   * moved to another edge of a cluster (issue 12) and the edge holding the socket re-attaches it, so the
   * participant keeps its resume token and nobody sees a leave or a join. False (and the socket left
   * unjoined) if the room does not know the participant.
   */
  async reattach(conn: Connection, participantId: string): Promise<boolean> {
    // At once, not in the queue: frames that follow must not be refused as NOT_JOINED, and a state loaded
    // meanwhile must count this participant as connected.
    conn.participantId = participantId;
    return this.#queue.exclusive(() =>
      this.#mutate(async () => {
        const p = this.#state.participants.get(participantId);
        if (!p) {
          conn.participantId = undefined;
          return false;
        }
        if (p.disconnectedAt !== undefined) this.#state.resumed(participantId, p.resumeHash);
        this.#presence.replayMissed(conn);
        return true;
      }),
    );
  }

  /**
   * The admin API's view (edge/core/admin/routes.ts): participants by pseudonymous id, role and node,
   * never names. Through the queue, so that it sees the state between requests, not in the middle of one.
   */
  async adminView(): Promise<AdminRoom> {
    return this.#queue.exclusive(async () => {
      await this.#load();
      const state = this.#state;
      return {
        name: this.name,
        participants: [...state.participants.values()].map((p) => ({
          id: p.id,
          role: p.role,
          nodeId: p.nodeId,
          joinedAt: p.joinedAt,
          connected: p.disconnectedAt === undefined,
        })),
        lobby: state.lobby.size,
        locked: state.locked,
      };
    });
  }

  /** The admin API ends the meeting: everyone's socket closes with 4000 (see Moderation.endForAll). */
  async adminEnd(): Promise<number> {
    return this.#queue.exclusive(() => this.#mutate(() => this.#moderation.endForAll()));
  }

  /** The admin API removes a participant (4001, barred like a moderator's removal); false if not in the room. */
  async adminRemove(participantId: string): Promise<boolean> {
    return this.#queue.exclusive(() =>
      this.#mutate(async () => {
        if (!this.#state.participants.has(participantId)) return false;
        await this.#moderation.expel(participantId, 'admin');
        return true;
      }),
    );
  }

  /** An event from a media node about this room (see RoomMedia.onNodeEvent for what is believed). */
  async onNodeEvent(nodeId: string, event: MediaEvent): Promise<void> {
    await this.#queue.exclusive(async () => {
      await this.#load();
      this.#media.onNodeEvent(nodeId, event);
    });
  }

  /**
   * A socket opened: unless it joins (or resumes) within joinTimeoutMs, the sweep closes it. Idle
   * strangers would otherwise hold sockets (and a Durable Object's memory) for free.
   */
  onOpen(conn: Connection): void {
    this.#deps.scheduleSweep(conn.openedAt + this.#deps.joinTimeoutMs);
  }

  /** The socket closed (or errored): the participant leaves if it had joined. */
  async onClose(conn: Connection): Promise<void> {
    await this.#queue
      .exclusive(() => this.#mutate(async () => this.#roster.dropped(conn)))
      .catch((err) => this.#deps.log.error({ room: this.name, ...errorFields(err) }, 'close handling failed'));
  }

  /**
   * Removes participants whose grace period has run out, closes sockets that did not join in time and
   * moves the room off media nodes that are lost or draining; the host calls it when the sweep is due
   * (a timer, or a Durable Object alarm).
   */
  async sweep(): Promise<void> {
    await this.#abortCallsToLostNodes();
    const swept = this.#queue.exclusive(() => this.#mutate(() => this.#sweepDue()));
    // While the sweep waits behind a request that hangs on a node, keep looking whether that node is lost.
    // No timer may outlive the sweep: a pending one keeps a Durable Object from hibernating.
    let waiting = true;
    void swept.finally(() => (waiting = false)).catch(() => {});
    while (waiting) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([swept, new Promise((r) => (timer = setTimeout(r, this.#deps.nodeCheckIntervalMs)))]).catch(
        () => {},
      );
      if (timer !== undefined) clearTimeout(timer);
      if (waiting) await this.#abortCallsToLostNodes();
    }
    await swept;
  }

  async #sweepDue(): Promise<void> {
    const now = Date.now();
    let next = this.#admission.closeLateSockets(now);
    next = Math.min(next, await this.#roster.removeGone(now));
    next = Math.min(next, this.#state.pruneBars(now));
    if (this.#state.size > 0) {
      try {
        await this.#failover.checkNodes();
      } catch (err) {
        this.#deps.log.error({ room: this.name, ...errorFields(err) }, 'media node check failed');
      }
      next = Math.min(next, Date.now() + this.#deps.nodeCheckIntervalMs);
    }
    if (next !== Infinity) this.#deps.scheduleSweep(next);
  }

  /** Outside the queue (see Failover.abortCallsToLostNodes); nothing to abort before the state is loaded. */
  async #abortCallsToLostNodes(): Promise<void> {
    if (this.#loaded) await this.#failover.abortCallsToLostNodes();
  }

  /**
   * A request's change (#dispatch): the task runs in the queue, and the save after it, whether the task
   * failed or not, is awaited outside it. The next task of the queue need not wait for this one's save:
   * a join flood's changes share saves (SnapshotSaver), and the answer still waits for the save that
   * holds its change.
   */
  async #change<T>(enqueue: Enqueue, task: () => Promise<T>): Promise<T> {
    const { outcome, saved } = await enqueue(async () => {
      if (this.#retired) throw new TreffpunktError(ErrorCode.RoomMoved, 'the room moved to another server');
      await this.#load();
      this.#deps.store.changing?.();
      let outcome: Outcome<T>;
      try {
        outcome = { ok: true, value: await task() };
      } catch (error) {
        outcome = { ok: false, error };
      }
      return { outcome, saved: this.#saver.save() };
    });
    try {
      await saved;
    } finally {
      this.#deps.store.changed?.();
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  readonly #exclusive: Enqueue = (task) => this.#queue.exclusive(task);
  #laneOf(participantId: string): Enqueue {
    return (task) => this.#queue.lane(participantId, task);
  }

  /** Runs a task against the loaded state and saves the state afterwards, whether the task failed or not. */
  async #mutate<T>(task: () => Promise<T>): Promise<T> {
    if (this.#retired) throw new TreffpunktError(ErrorCode.RoomMoved, 'the room moved to another server');
    await this.#load();
    this.#deps.store.changing?.();
    try {
      return await task();
    } finally {
      try {
        await this.#saver.save();
      } finally {
        this.#deps.store.changed?.();
      }
    }
  }

  /**
   * Loads the saved state once per actor lifetime. Participants whose socket is gone (the actor was
   * restarted, not just hibernated) get the grace period to resume; lobby entries without a socket go.
   */
  #load(): Promise<void> {
    // Once, whoever asks first: lane tasks of a woken room may ask side by side.
    this.#loading ??= this.#restore().then(
      () => {
        this.#loaded = true;
      },
      (err: unknown) => {
        this.#loading = undefined; // the next request tries again
        throw err;
      },
    );
    return this.#loading;
  }

  async #restore(): Promise<void> {
    const snapshot = await this.#deps.store.load();
    if (!snapshot) return;
    const state = this.#state;
    state.restore(snapshot);
    const barsRunOut = state.pruneBars(Date.now());
    if (barsRunOut !== Infinity) this.#deps.scheduleSweep(barsRunOut);
    if (state.size > 0) this.#deps.scheduleSweep(Date.now() + this.#deps.nodeCheckIntervalMs);
    const live = new Set([...this.#deps.connections()].map((c) => c.participantId).filter(Boolean));
    // Sockets gone while the actor was down (a restart, not a hibernation): those participants get the
    // grace period to resume, as if their sockets had just dropped.
    const now = Date.now();
    for (const p of state.participants.values()) {
      if (!live.has(p.id) && p.disconnectedAt === undefined) state.disconnected(p.id, now);
      if (p.disconnectedAt !== undefined) this.#deps.scheduleSweep(p.disconnectedAt + this.#deps.resumeGraceMs);
    }
    for (const id of [...state.lobby.keys()]) if (!live.has(id)) state.leaveLobby(id);
    this.#deps.log.info({ room: this.name, participants: state.size }, 'room state restored');
  }
}
