/**
 * The room actor: parses every frame a participant sends, runs requests one at a time (SerialQueue),
 * keeps the room state and tells the others what changed. Runtime-neutral: a room host (in-process on
 * Node, a Durable Object on Cloudflare) owns one Room per room name and feeds it socket events.
 *
 * Every wake-up may be a cold start: the state is loaded from the RoomStore before the first request
 * and saved after every change; sockets are found again through `connections()` and their
 * `participantId`, never through memory.
 */
import { timingSafeEqual } from 'hono/utils/buffer';
import { toBase64, toBase64Url } from '../../shared/base64.ts';
import { ErrorCode, toWireError, TreffpunktError } from '../../shared/errors.ts';
import { SUPPORTED_PROTOCOL_VERSIONS, PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import {
  CloseCode,
  methods,
  RequestEnvelope,
  type EventData,
  type EventName,
  type JoinResult,
  type Role,
  type Method,
  type Params,
  type Result,
  nameKey,
} from '../../shared/signaling.ts';
import type { Connection } from './connection.ts';
import { errorFields, type Logger } from './logger.ts';
import type { MediaNodes } from './media-nodes.ts';
import { RoomState } from './room-state.ts';
import { SerialQueue } from './serial-queue.ts';
import { NodeUnreachableError, type MediaNodeClient } from './media-node-client.ts';
import type { RtpCapabilities } from '../../shared/media-types.ts';
import type { RoomStore } from './room-store.ts';
import type { JoinTokenVerifier, VerifiedJoin } from './join-tokens.ts';
import type { MediaEvent } from '../../shared/control.ts';
import { expandJurisdictions, intersectConstraints, sameConstraint, type MediaConstraint } from './media-constraint.ts';
import { RoomPipes } from './room-pipes.ts';
import type { ParticipantState } from './room-state.ts';

/** Who may join without a token when the deployment trusts token issuers. */
export type GuestPolicy = 'allow' | 'lobby' | 'deny';

export interface RoomAccess {
  verifier: JoinTokenVerifier;
  guestPolicy: GuestPolicy;
  /** How long a removed participant's token identity may not join again (0: not barred). */
  removalBarMs: number;
}

export interface RoomDeps {
  nodes: MediaNodes;
  access: RoomAccess;
  log: Logger;
  maxMessageBytes: number;
  capacity: number;
  maxProducers: number;
  /** Transports one participant may hold on its media node (a move to another node starts afresh). */
  maxTransports: number;
  /** Consumers one participant may hold; one per producer, those of closed producers do not count. */
  maxConsumers: number;
  /** How many may wait in the lobby at once; a newcomer beyond that gets LOBBY_FULL. */
  lobbyCapacity: number;
  /** A socket that has neither joined nor resumed (nor waits in the lobby) this long is closed (4009). */
  joinTimeoutMs: number;
  store: RoomStore;
  /** The room's open sockets, joined or not (a Durable Object asks its runtime: ctx.getWebSockets()). */
  connections(): Iterable<Connection>;
  /** How long a participant whose socket dropped stays in the room, waiting to `resume`. */
  resumeGraceMs: number;
  /** Asks the host to call `sweep()` at (or soon after) `at` (ms since the epoch): a timer or an alarm. */
  scheduleSweep(at: number): void;
  /** Where this room's media may go (operators, jurisdictions). */
  mediaConstraint: MediaConstraint;
  /** How often a room with participants checks that its media nodes are alive (and not draining). */
  nodeCheckIntervalMs: number;
  /** Called when the last participant has left, so the host can forget the room. */
  onEmpty?: () => void;
}

/** Events for one participant kept while its socket is down (see #sendTo). */
const MISSED_EVENTS_KEPT = 16;

/** Refused messages in a row after which a flooding socket is closed (4008). */
const FLOOD_CLOSE_AFTER = 200;

const RATE_LIMITED_ERROR = JSON.stringify(toWireError(new TreffpunktError(ErrorCode.RateLimited, 'too many messages; slow down')));

/**
 * The reply to a frame refused by the rate limit. The frame is not parsed (refusing must stay cheap), but a
 * request that starts with its id, as every client built on JSON.stringify sends it, gets its id back so that
 * the client can fail that request at once instead of waiting for it to time out; any other frame gets null.
 */
function rateLimitedReply(frame: string | ArrayBuffer): string {
  const id = typeof frame === 'string' ? /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(frame.slice(0, 48))?.[1] : undefined;
  return `{"id":${id ?? 'null'},"ok":false,"error":${RATE_LIMITED_ERROR}}`;
}

/**
 * Moderators get at most one lobbyChanged per this interval: a burst of arrivals (issue 10: 300 guests
 * in seconds) is one list, not one list per arrival for every moderator. The first change goes at once.
 */
const LOBBY_NOTIFY_MS = 500;

/** `verified`: for a `join` with a token, the token as checked before the request entered the queue. */
type Handler<M extends Method> = (conn: Connection, params: Params<M>, verified?: VerifiedJoin) => Promise<Result<M>>;

export class Room {
  readonly name: string;
  readonly #deps: RoomDeps;
  #state: RoomState;
  readonly #queue = new SerialQueue();
  /** Router RTP capabilities per media node, fetched once per node. */
  #routerCaps = new Map<string, RtpCapabilities>();
  #loaded = false;
  readonly #pipes: RoomPipes;
  /** Nodes a control call could not reach: checked at once, not only when their heartbeats stop. */
  readonly #suspects = new Set<string>();
  /**
   * Sockets whose join token is being verified, keyed by their message budget: the one per-socket object
   * both runtimes keep while a socket lives (a Durable Object hands out a new Connection per event).
   */
  readonly #verifying = new WeakSet<object>();
  /** When the last lobbyChanged went out, and whether a later one is due (see LOBBY_NOTIFY_MS). */
  #lobbySentAt = -Infinity;
  #lobbyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(name: string, deps: RoomDeps) {
    this.name = name;
    this.#deps = deps;
    this.#state = new RoomState(name, deps.capacity);
    this.#pipes = new RoomPipes(name, deps.nodes, deps.log);
  }

  get participantCount(): number {
    return this.#state.size;
  }

  /** Nothing to keep: no participants and no removal bars still running (the Node host may forget the room). */
  get idle(): boolean {
    return this.#state.size === 0 && this.#state.pruneBars(Date.now()) === Infinity;
  }

  /** Handles one frame. Never throws: every failure becomes an error reply with a stable code. */
  async onMessage(conn: Connection, frame: string | ArrayBuffer): Promise<void> {
    if (!conn.messages.take()) {
      // Every frame gets exactly one reply, a refused one too (docs/protocol.md): a client that counts its
      // replies never waits for one that does not come. The reply is a constant, not parsed from the frame,
      // so refusing costs the edge next to nothing. A client that keeps flooding after being told is cut
      // off; the others never wait for it.
      if (conn.messages.refusedInARow > FLOOD_CLOSE_AFTER) {
        this.#deps.log.warn({ room: this.name, participant: conn.participantId, event: 'rateLimitClose' }, 'security: a flooding connection was closed (4008)');
        conn.close(CloseCode.RateLimited, 'too many messages');
      } else this.#trySend(conn, rateLimitedReply(frame));
      return;
    }
    const size = typeof frame === 'string' ? byteLength(frame) : frame.byteLength;
    if (size > this.#deps.maxMessageBytes) {
      return this.#sendError(conn, null, new TreffpunktError(ErrorCode.MessageTooLarge, `messages are limited to ${this.#deps.maxMessageBytes} bytes`));
    }
    if (typeof frame !== 'string') {
      return this.#sendError(conn, null, new TreffpunktError(ErrorCode.BadJson, 'binary frames are not accepted'));
    }
    let json: unknown;
    try {
      json = JSON.parse(frame);
    } catch {
      return this.#sendError(conn, null, new TreffpunktError(ErrorCode.BadJson, 'the message is not valid JSON'));
    }
    const envelope = RequestEnvelope.safeParse(json);
    if (!envelope.success) {
      return this.#sendError(conn, requestIdOf(json), new TreffpunktError(ErrorCode.BadMessage, 'a request is {"id": <integer>, "method": <string>, "params": {…}}'));
    }
    const { id, method } = envelope.data;
    if (!Object.hasOwn(methods, method)) {
      return this.#sendError(conn, id, new TreffpunktError(ErrorCode.UnknownMethod, `unknown method "${method.slice(0, 64)}"`));
    }
    const m = method as Method;
    const params = methods[m].params.safeParse(envelope.data.params ?? {});
    if (!params.success) {
      const issue = params.error.issues[0];
      return this.#sendError(conn, id, new TreffpunktError(ErrorCode.BadMessage, `invalid ${m} params: ${issue?.path.join('.') || '(params)'}: ${issue?.message}`));
    }
    // Not joined: refused at once, without queueing behind the room's work (a stranger's flood must not
    // delay the participants' requests).
    if (!conn.participantId && m !== 'join' && m !== 'resume' && m !== 'ping') {
      return this.#sendError(conn, id, new TreffpunktError(ErrorCode.NotJoined, 'join the room first'));
    }
    const verified = m === 'join' ? await this.#preVerify(conn, id, params.data as Params<'join'>) : undefined;
    if (verified === null) return;
    const handler = this.#handlers[m] as Handler<Method>;
    // ping is answered at once: a keep-alive must not wait behind slow media node calls.
    const run = () => handler(conn, params.data as Params<Method>, verified);
    try {
      const result = await (m === 'ping' ? run() : this.#queue.run(() => this.#mutate(run)));
      this.#trySend(conn, JSON.stringify({ id, ok: true, result }));
      if (m === 'resume') this.#replayMissed(conn);
      // A moderator who enters (or comes back) sees who already waits, not only the next change.
      if ((m === 'join' || m === 'resume') && this.#state.lobby.size > 0 && this.#state.participants.get(conn.participantId ?? '')?.role === 'moderator') this.#trySend(conn, this.#lobbyFrame());
      // After the reply: these requests end the connection.
      if (m === 'leave') conn.close(CloseCode.Left, 'left');
      if (m === 'endMeeting') conn.close(CloseCode.MeetingEnded, 'the meeting was ended');
    } catch (err) {
      if (err instanceof NodeUnreachableError) this.#suspect(err.nodeId);
      this.#sendError(conn, id, err);
    }
  }

  /**
   * A join token is verified before the request enters the room's queue: verifying may wait for an
   * identity provider's key set, and forged tokens from a stranger must not hold up the room's requests
   * meanwhile (issue 10: a hanging IdP delayed a moderator's chat by 19.8 s). One verification per
   * socket at a time; more get RATE_LIMITED. Returns null when the request has been answered here.
   */
  async #preVerify(conn: Connection, id: number, { token }: Params<'join'>): Promise<VerifiedJoin | undefined | null> {
    // Already joined: the handler answers ALREADY_JOINED without looking at the token.
    if (!token || conn.participantId) return undefined;
    if (this.#verifying.has(conn.messages)) {
      this.#sendError(conn, id, new TreffpunktError(ErrorCode.RateLimited, 'a join token of this connection is still being checked'));
      return null;
    }
    this.#verifying.add(conn.messages);
    try {
      return await this.#deps.access.verifier.verify(token, this.name);
    } catch (err) {
      // The reason is ours (join-tokens.ts refuse()): it names no token content, no name, no secret.
      this.#deps.log.warn({ room: this.name, event: 'tokenRefused', reason: toWireError(err).message }, 'join token refused');
      this.#sendError(conn, id, err);
      return null;
    } finally {
      this.#verifying.delete(conn.messages);
    }
  }

  #suspect(nodeId: string): void {
    if (this.#suspects.has(nodeId)) return;
    this.#suspects.add(nodeId);
    this.#deps.scheduleSweep(Date.now());
  }

  /**
   * An event from a media node about this room. Only events about producers of participants on that
   * very node are believed: a node cannot speak for another node's participants.
   */
  async onNodeEvent(nodeId: string, event: MediaEvent): Promise<void> {
    await this.#queue.run(async () => {
      await this.#load();
      const owner = event.producerId === null ? null : this.#ownerOn(nodeId, event.producerId);
      if (owner === undefined) return;
      if (event.type === 'activeSpeaker') this.#broadcast('activeSpeaker', { participantId: owner?.id ?? null });
      else if (owner) this.#broadcast('producerScore', { participantId: owner.id, producerId: event.producerId, score: event.score });
    });
  }

  #ownerOn(nodeId: string, producerId: string) {
    for (const p of this.#state.participants.values()) if (p.nodeId === nodeId && p.producers.has(producerId)) return p;
    return undefined;
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
    await this.#queue.run(() => this.#mutate(async () => this.#dropped(conn))).catch((err) => this.#deps.log.error({ room: this.name, ...errorFields(err) }, 'close handling failed'));
  }

  /**
   * Removes participants whose grace period has run out and moves the room off media nodes that are
   * lost or draining; the host calls it when the sweep is due (a timer, or a Durable Object alarm).
   */
  async sweep(): Promise<void> {
    await this.#abortCallsToLostNodes();
    const swept = this.#queue.run(() =>
      this.#mutate(async () => {
        const now = Date.now();
        let next = Infinity;
        for (const c of [...this.#deps.connections()]) {
          // In the lobby counts as joined: a participantId is set while one waits there.
          if (c.participantId !== undefined) continue;
          const due = c.openedAt + this.#deps.joinTimeoutMs;
          if (due > now) {
            next = Math.min(next, due);
            continue;
          }
          this.#deps.log.warn({ room: this.name, openForMs: now - c.openedAt }, 'security: closing a socket that did not join in time');
          c.close(CloseCode.JoinTimeout, 'join timeout');
        }
        for (const p of [...this.#state.participants.values()]) {
          if (p.disconnectedAt === undefined) continue;
          const due = p.disconnectedAt + this.#deps.resumeGraceMs;
          if (due <= now) await this.#removeParticipant(p.id);
          else next = Math.min(next, due);
        }
        next = Math.min(next, this.#state.pruneBars(now));
        if (this.#state.size > 0) {
          try {
            await this.#checkNodes();
          } catch (err) {
            this.#deps.log.error({ room: this.name, ...errorFields(err) }, 'media node check failed');
          }
          next = Math.min(next, Date.now() + this.#deps.nodeCheckIntervalMs);
        }
        if (next !== Infinity) this.#deps.scheduleSweep(next);
      }),
    );
    // While the sweep waits behind a request that hangs on a node, keep looking whether that node is lost.
    // No timer may outlive the sweep: a pending one keeps a Durable Object from hibernating.
    let waiting = true;
    void swept.finally(() => (waiting = false)).catch(() => {});
    while (waiting) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([swept, new Promise((r) => (timer = setTimeout(r, this.#deps.nodeCheckIntervalMs)))]).catch(() => {});
      if (timer !== undefined) clearTimeout(timer);
      if (waiting) await this.#abortCallsToLostNodes();
    }
    await swept;
  }

  /**
   * Failover and drain: a node that lost its heartbeat, or said it is going down, no longer carries
   * this room. Participants still waiting for a node (mediaUnavailable) get one as soon as one may
   * carry them. Nodes left while unreachable are told to close the room once they are back.
   */
  async #checkNodes(): Promise<void> {
    const linked = [...this.#state.links].flatMap((k) => k.split('|'));
    for (const nodeId of new Set([...this.#state.nodeIds(), ...linked, ...this.#state.abandoned])) {
      let status = await this.#deps.nodes.status(nodeId);
      if (status === 'up' && this.#suspects.delete(nodeId) && !(await (await this.#deps.nodes.client(nodeId)).reachable())) {
        this.#deps.log.warn({ room: this.name, node: nodeId }, 'a media node failed a control call and its health check: lost');
        status = 'lost';
      }
      if (this.#state.abandoned.has(nodeId) && !this.#state.nodeIds().includes(nodeId)) {
        if (status === 'up') await this.#closeRoomOn(nodeId);
        continue;
      }
      if (status !== 'up') await this.#moveOff(nodeId, status === 'draining' ? 'nodeDraining' : 'nodeFailed');
    }
    for (const p of this.#state.participants.values()) if (p.nodeId === '') await this.#place(p, 'nodeFailed');
  }

  /**
   * Outside the request queue: a request hanging on a frozen node would otherwise hold up the very check
   * that finds the node lost. Reads the state only.
   */
  async #abortCallsToLostNodes(): Promise<void> {
    if (!this.#loaded) return;
    try {
      for (const nodeId of this.#state.nodeIds()) if ((await this.#deps.nodes.status(nodeId)) === 'lost') this.#deps.nodes.abortCalls(nodeId);
    } catch (err) {
      this.#deps.log.debug({ room: this.name, ...errorFields(err) }, 'node status check failed');
    }
  }

  async #closeRoomOn(nodeId: string): Promise<boolean> {
    try {
      await (await this.#deps.nodes.client(nodeId)).call('closeRoom', `/v1/rooms/${this.name}/close`, {});
      this.#state.abandoned.delete(nodeId);
      return true;
    } catch (err) {
      this.#deps.log.debug({ room: this.name, node: nodeId, ...errorFields(err) }, 'closing the room on a node left behind failed');
      this.#state.abandoned.add(nodeId);
      return false;
    }
  }

  /**
   * Moves every participant of the room off `nodeId`: the pipes to it close, their producers are gone
   * for the others (producerClosed), and each is placed on another node that meets the room's
   * constraint and told to publish again (mediaMoved). Clients re-publish audio first.
   */
  async #moveOff(nodeId: string, reason: 'nodeFailed' | 'nodeDraining'): Promise<void> {
    const moving = [...this.#state.participants.values()].filter((p) => p.nodeId === nodeId);
    this.#deps.log.warn({ room: this.name, node: nodeId, reason, participants: moving.length }, 'moving the room off a media node');
    await this.#pipes.dropNode(this.#state, nodeId);
    for (const p of moving) {
      for (const producerId of p.producers.keys()) this.#broadcast('producerClosed', { participantId: p.id, producerId }, p.id);
      this.#state.dropConsumersOf(p.producers.keys());
      p.producers.clear();
      p.transports.clear();
      p.consumers.clear();
    }
    this.#routerCaps.delete(nodeId);
    for (const p of moving) await this.#place(p, reason, nodeId);
    // A draining node is alive: it frees the room now. A lost one is told when (if) it comes back.
    if (reason === 'nodeFailed' || !(await this.#closeRoomOn(nodeId))) this.#state.abandoned.add(nodeId);
  }

  /** Gives a participant without a usable node a new one, or tells them that none may carry them. */
  async #place(p: ParticipantState, reason: 'nodeFailed' | 'nodeDraining', leaving?: string): Promise<void> {
    try {
      const node = await this.#deps.nodes.select({ roomNodeIds: this.#state.nodeIds().filter((n) => n !== leaving), region: p.region, constraint: this.#constraint(), exclude: leaving ? [leaving] : [] });
      const routerRtpCapabilities = await this.#routerCapabilities(node);
      p.nodeId = node.nodeId;
      this.#state.abandoned.delete(node.nodeId);
      this.#deps.log.info({ room: this.name, participant: p.id, node: node.nodeId, reason }, 'participant moved to another media node');
      this.#sendTo(p.id, 'mediaMoved', { reason, routerRtpCapabilities });
    } catch (err) {
      const wasPlaced = p.nodeId !== '';
      p.nodeId = '';
      if (!wasPlaced) return;
      const wire = toWireError(err);
      this.#deps.log.warn({ room: this.name, participant: p.id, code: wire.code }, 'no media node may carry the participant');
      this.#sendTo(p.id, 'mediaUnavailable', { code: wire.code === ErrorCode.ConstraintUnmet ? 'CONSTRAINT_UNMET' : 'NO_MEDIA_NODE', message: wire.code === ErrorCode.Internal ? 'no media node is available' : wire.message });
    }
  }

  /** After a resume: what concerned only this participant while its socket was down, in order. */
  #replayMissed(conn: Connection): void {
    const p = conn.participantId ? this.#state.participants.get(conn.participantId) : undefined;
    if (!p?.missed) return;
    for (const m of p.missed) this.#trySend(conn, JSON.stringify(m));
    p.missed = undefined;
  }

  /**
   * A socket closed without `leave`: a joined participant stays for the grace period (their media keeps
   * flowing; the others see nothing) and can `resume` on a new socket. Someone in the lobby just goes.
   */
  #dropped(conn: Connection): void {
    const id = conn.participantId;
    if (!id) return;
    conn.participantId = undefined;
    if (this.#state.lobby.delete(id)) return this.#notifyLobby();
    const p = this.#state.participants.get(id);
    if (!p) return;
    p.disconnectedAt = Date.now();
    this.#deps.log.info({ room: this.name, participant: id }, 'participant disconnected, may resume');
    this.#deps.scheduleSweep(p.disconnectedAt + this.#deps.resumeGraceMs);
  }

  /** Runs a task against the loaded state and saves the state afterwards, whether the task failed or not. */
  async #mutate<T>(task: () => Promise<T>): Promise<T> {
    await this.#load();
    try {
      return await task();
    } finally {
      // Removal bars outlive the meeting's last participant: the snapshot stays until they run out.
      const empty = this.#state.size === 0 && this.#state.lobby.size === 0 && this.#state.pruneBars(Date.now()) === Infinity;
      await this.#deps.store.save(empty ? undefined : { participants: this.#state.toSnapshot(), lobby: [...this.#state.lobby.values()], locked: this.#state.locked, routerCaps: [...this.#routerCaps], links: [...this.#state.links], abandoned: [...this.#state.abandoned], constraint: this.#state.constraint, barred: [...this.#state.barred] });
    }
  }

  /**
   * Loads the saved state once per actor lifetime. Participants whose socket is gone (the actor was
   * restarted, not just hibernated) have left: they are removed, the others are told, the node cleans up.
   */
  async #load(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    const snapshot = await this.#deps.store.load();
    if (!snapshot) return;
    this.#state = RoomState.fromSnapshot(this.name, this.#deps.capacity, snapshot.participants);
    this.#state.locked = snapshot.locked;
    for (const entry of snapshot.lobby) this.#state.lobby.set(entry.id, entry);
    this.#routerCaps = new Map(snapshot.routerCaps);
    for (const l of snapshot.links ?? []) this.#state.links.add(l);
    for (const n of snapshot.abandoned ?? []) this.#state.abandoned.add(n);
    this.#state.constraint = snapshot.constraint;
    for (const [identity, until] of snapshot.barred ?? []) this.#state.barred.set(identity, until);
    const barsRunOut = this.#state.pruneBars(Date.now());
    if (barsRunOut !== Infinity) this.#deps.scheduleSweep(barsRunOut);
    if (this.#state.size > 0) this.#deps.scheduleSweep(Date.now() + this.#deps.nodeCheckIntervalMs);
    const live = new Set([...this.#deps.connections()].map((c) => c.participantId).filter(Boolean));
    // Sockets gone while the actor was down (a restart, not a hibernation): those participants get the
    // grace period to resume, as if their sockets had just dropped.
    const now = Date.now();
    for (const p of this.#state.participants.values()) {
      if (!live.has(p.id) && p.disconnectedAt === undefined) p.disconnectedAt = now;
      if (p.disconnectedAt !== undefined) this.#deps.scheduleSweep(p.disconnectedAt + this.#deps.resumeGraceMs);
    }
    for (const id of [...this.#state.lobby.keys()]) if (!live.has(id)) this.#state.lobby.delete(id);
    this.#deps.log.info({ room: this.name, participants: this.#state.size }, 'room state restored');
  }

  readonly #handlers: { [M in Method]: Handler<M> } = {
    join: async (conn, { protocolVersion, name, token, region }, verified) => {
      if (conn.participantId) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'this connection has already joined');
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)) {
        throw new TreffpunktError(ErrorCode.UnsupportedProtocolVersion, `protocol version ${protocolVersion} is not supported; this edge speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`);
      }
      const who = this.#identify(token, name, verified);
      if (verified) await this.#claimIdentity(verified);
      // A name from a join token is vouched for by its issuer; a typed one is not (ParticipantInfo.verified).
      const isVerified = token !== undefined;
      if (!isVerified) this.#refuseVerifiedName(who.name);
      this.#adoptMediaClaim(who.media);
      if (this.#state.size >= this.#state.capacity) throw new TreffpunktError(ErrorCode.RoomFull, `room is full (${this.#state.capacity} participants)`);
      // Guests wait under the lobby policy, and everyone but moderators waits in a locked room.
      const mustWait = who.role !== 'moderator' && (this.#state.locked || (who.role === 'guest' && this.#deps.access.guestPolicy === 'lobby'));
      const id = crypto.randomUUID();
      if (mustWait) {
        if (this.#state.locked && !this.#state.hasModerator()) throw new TreffpunktError(ErrorCode.RoomLocked, 'the room is locked');
        if (this.#state.lobby.size >= this.#deps.lobbyCapacity) {
          this.#deps.log.warn({ room: this.name, waiting: this.#state.lobby.size }, 'security: lobby full, newcomer refused');
          throw new TreffpunktError(ErrorCode.LobbyFull, `too many people are waiting to be let in (${this.#deps.lobbyCapacity}); try again later`);
        }
        this.#state.lobby.set(id, { id, name: who.name, role: who.role, verified: isVerified, since: Date.now(), region, identity: who.identity });
        conn.participantId = id;
        this.#deps.log.info({ room: this.name, participant: id }, 'participant waits in the lobby');
        this.#notifyLobby();
        throw new TreffpunktError(ErrorCode.WaitingInLobby, 'please wait: a moderator will let you in');
      }
      // Marked joined only once in: a join that fails (no media node) leaves the socket free to try again.
      const result = await this.#enter(id, { ...who, verified: isVerified }, region);
      conn.participantId = id;
      return result;
    },

    resume: async (conn, { protocolVersion, participantId, resumeToken }) => {
      if (conn.participantId) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'this connection has already joined');
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)) throw new TreffpunktError(ErrorCode.UnsupportedProtocolVersion, `protocol version ${protocolVersion} is not supported`);
      const p = this.#state.participants.get(participantId);
      // Same answer for an unknown id and a wrong token; the comparison is of hashes, in constant time.
      if (!p || !(await timingSafeEqual(await sha256(resumeToken), p.resumeHash))) {
        throw new TreffpunktError(ErrorCode.Unauthorized, 'cannot resume: unknown participant or wrong token, join again');
      }
      // A second socket resuming the same participant takes over; the old one is closed.
      for (const other of this.#deps.connections()) {
        if (other !== conn && other.participantId === participantId) {
          other.participantId = undefined;
          other.close(CloseCode.Left, 'resumed elsewhere');
        }
      }
      p.disconnectedAt = undefined;
      conn.participantId = participantId;
      const token = newResumeToken();
      p.resumeHash = await sha256(token);
      this.#deps.log.info({ room: this.name, participant: participantId }, 'participant resumed');
      // Without a node (mediaUnavailable) the client gets any known capabilities; mediaMoved follows.
      const routerRtpCapabilities = p.nodeId ? await this.#routerCapabilities(await this.#deps.nodes.client(p.nodeId)) : (this.#routerCaps.values().next().value ?? { codecs: [], headerExtensions: [] });
      return { protocolVersion: PROTOCOL_VERSION, participantId, resumeToken: token, role: p.role, locked: this.#state.locked, routerRtpCapabilities, participants: this.#state.others(participantId), you: this.#state.info(p) };
    },

    createTransport: async (conn, { direction }) => {
      const p = this.#joined(conn);
      if (p.transports.size >= this.#deps.maxTransports) this.#limit(p.id, 'transports', `at most ${this.#deps.maxTransports} transports per participant`);
      const node = await this.#deps.nodes.client(p.nodeId);
      const transport = await node.call('createTransport', `/v1/rooms/${this.name}/transports`, { participantId: p.id, direction });
      this.#state.addTransport(p.id, transport.id, direction);
      const iceServers = await this.#deps.nodes.iceServers(p.nodeId, turnIdentity(p));
      return { ...transport, iceServers, ...(iceServers.length ? { iceServersExpireIn: this.#deps.nodes.turnCredentialTtlSeconds } : {}) };
    },

    connectTransport: async (conn, { transportId, dtlsParameters }) => {
      const p = this.#joined(conn);
      this.#state.requireTransport(p.id, transportId);
      const node = await this.#deps.nodes.client(p.nodeId);
      return node.call('connectTransport', `/v1/rooms/${this.name}/transports/${transportId}/connect`, { dtlsParameters });
    },

    restartIce: async (conn, { transportId }) => {
      const p = this.#joined(conn);
      this.#state.requireTransport(p.id, transportId);
      const node = await this.#deps.nodes.client(p.nodeId);
      const { iceParameters } = await node.call('restartIce', `/v1/rooms/${this.name}/transports/${transportId}/restart-ice`, {});
      // Fresh TURN credentials: an allocation ends with the credential that made it, so a long meeting
      // renews them with a restart (the client does so before they expire).
      const iceServers = await this.#deps.nodes.iceServers(p.nodeId, turnIdentity(p));
      return { iceParameters, iceServers, ...(iceServers.length ? { iceServersExpireIn: this.#deps.nodes.turnCredentialTtlSeconds } : {}) };
    },

    produce: async (conn, { transportId, kind, rtpParameters, source }) => {
      const p = this.#joined(conn);
      this.#state.requireTransport(p.id, transportId, 'send');
      if (p.producers.size >= this.#deps.maxProducers) throw new TreffpunktError(ErrorCode.LimitExceeded, `at most ${this.#deps.maxProducers} producers per participant`);
      const node = await this.#deps.nodes.client(p.nodeId);
      const { producerId } = await node.call('produce', `/v1/rooms/${this.name}/transports/${transportId}/produce`, { kind, rtpParameters, source });
      this.#state.addProducer(p.id, producerId, { kind, source, paused: false });
      this.#broadcast('producerAdded', { participantId: p.id, producerId, kind, source }, p.id);
      return { producerId };
    },

    setProducerPaused: async (conn, { producerId, paused }) => {
      const p = this.#joined(conn);
      const producer = this.#state.ownProducer(p.id, producerId);
      const node = await this.#deps.nodes.client(p.nodeId);
      await node.call('setProducerPaused', `/v1/rooms/${this.name}/producers/${producerId}/pause`, { paused });
      await this.#pipes.setPaused(producerId, producer, paused);
      producer.paused = paused;
      this.#broadcast('producerPaused', { participantId: p.id, producerId, paused }, p.id);
      return {};
    },

    setConsumerLayers: async (conn, { consumerId, spatialLayer, temporalLayer }) => {
      const p = this.#joined(conn);
      this.#state.requireConsumer(p.id, consumerId);
      const node = await this.#deps.nodes.client(p.nodeId);
      return node.call('setConsumerLayers', `/v1/rooms/${this.name}/consumers/${consumerId}/layers`, temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer });
    },

    chat: async (conn, { text }) => {
      const p = this.#joined(conn);
      const time = Date.now();
      // Sent to everyone, the sender included, so that all see the same order; never stored.
      this.#broadcast('chat', { participantId: p.id, name: p.name, text, time });
      return { time };
    },

    setHand: async (conn, { raised }) => {
      const p = this.#joined(conn);
      p.handRaised = raised;
      this.#broadcast('handChanged', { participantId: p.id, raised });
      return {};
    },

    closeProducer: async (conn, { producerId }) => {
      const p = this.#joined(conn);
      const producer = this.#state.ownProducer(p.id, producerId);
      this.#state.removeProducer(p.id, producerId);
      await this.#pipes.closeCopies(producerId, producer);
      const node = await this.#deps.nodes.client(p.nodeId);
      await node.call('closeProducer', `/v1/rooms/${this.name}/producers/${producerId}/close`, {});
      this.#broadcast('producerClosed', { participantId: p.id, producerId }, p.id);
      return {};
    },

    consume: async (conn, { transportId, producerId, rtpCapabilities }) => {
      const p = this.#joined(conn);
      this.#state.requireTransport(p.id, transportId, 'recv');
      const owner = this.#state.producerOwner(producerId);
      if (!owner.nodeId || !p.nodeId) throw new TreffpunktError(ErrorCode.NoMediaNode, 'this media is moving to another node; wait for mediaMoved');
      // One consumer per producer: a second consume of it (a reply lost with the old socket, a replaced
      // transport) replaces the first, which is closed on the node; so repeats cannot pile up consumers.
      const previous = this.#state.consumerOf(p.id, producerId);
      if (previous === undefined && p.consumers.size >= this.#deps.maxConsumers) this.#limit(p.id, 'consumers', `at most ${this.#deps.maxConsumers} consumers per participant`);
      // On another node: pipe it here first (once per node, whoever consumes it).
      await this.#pipes.ensurePiped(this.#state, producerId, owner.producers.get(producerId)!, owner.nodeId, p.nodeId);
      const node = await this.#deps.nodes.client(p.nodeId);
      const consumer = await node.call('consume', `/v1/rooms/${this.name}/transports/${transportId}/consume`, { producerId, rtpCapabilities });
      if (previous !== undefined) {
        p.consumers.delete(previous);
        await node.call('closeConsumer', `/v1/rooms/${this.name}/consumers/${previous}/close`, {}).catch((err: unknown) => this.#deps.log.debug({ room: this.name, ...errorFields(err) }, 'closing a replaced consumer failed'));
        this.#sendTo(p.id, 'consumerClosed', { consumerId: previous });
      }
      this.#state.addConsumer(p.id, consumer.consumerId, producerId);
      return consumer;
    },

    resumeConsumer: async (conn, { consumerId }) => {
      const p = this.#joined(conn);
      this.#state.requireConsumer(p.id, consumerId);
      const node = await this.#deps.nodes.client(p.nodeId);
      return node.call('resumeConsumer', `/v1/rooms/${this.name}/consumers/${consumerId}/resume`, {});
    },

    lockRoom: async (conn, { locked }) => {
      this.#moderator(conn);
      this.#state.locked = locked;
      this.#broadcast('roomLocked', { locked });
      return {};
    },

    admit: async (conn, { participantId }) => {
      this.#moderator(conn);
      const entry = this.#state.lobby.get(participantId);
      const waiting = this.#connectionOf(participantId);
      if (!entry || !waiting) throw new TreffpunktError(ErrorCode.NotFound, 'nobody with that id waits in the lobby');
      this.#state.lobby.delete(participantId);
      this.#deps.log.warn({ room: this.name, moderator: conn.participantId, participant: participantId }, 'security: lobby: admitted');
      const result = await this.#enter(participantId, { ...entry, verified: entry.verified ?? false }, entry.region);
      this.#trySend(waiting, JSON.stringify({ event: 'admitted', data: result }));
      this.#notifyLobby();
      return {};
    },

    refuse: async (conn, { participantId }) => {
      this.#moderator(conn);
      if (!this.#state.lobby.delete(participantId)) throw new TreffpunktError(ErrorCode.NotFound, 'nobody with that id waits in the lobby');
      this.#deps.log.warn({ room: this.name, moderator: conn.participantId, participant: participantId }, 'security: lobby: refused');
      const waiting = this.#connectionOf(participantId);
      if (waiting) {
        waiting.participantId = undefined;
        waiting.close(CloseCode.Refused, 'refused');
      }
      this.#notifyLobby();
      return {};
    },

    muteParticipant: async (conn, { participantId, source }) => {
      this.#moderator(conn);
      const target = this.#state.participant(participantId);
      const node = await this.#deps.nodes.client(target.nodeId);
      for (const [producerId, producer] of target.producers) {
        if (producer.source !== source || producer.paused) continue;
        await node.call('setProducerPaused', `/v1/rooms/${this.name}/producers/${producerId}/pause`, { paused: true });
        await this.#pipes.setPaused(producerId, producer, true);
        producer.paused = true;
        this.#broadcast('producerPaused', { participantId, producerId, paused: true });
      }
      this.#sendTo(participantId, 'mutedByModerator', { source });
      return {};
    },

    askToUnmute: async (conn, { participantId, source }) => {
      this.#moderator(conn);
      this.#state.participant(participantId);
      this.#sendTo(participantId, 'unmuteRequested', { source });
      return {};
    },

    removeParticipant: async (conn, { participantId }) => {
      const by = this.#moderator(conn);
      const removed = this.#state.participant(participantId);
      // Kick means out (issue 10): the same token, or another with the same subject, cannot walk back in.
      const barMs = this.#deps.access.removalBarMs;
      if (removed.identity && barMs > 0) {
        this.#state.barred.set(removed.identity, Date.now() + barMs);
        this.#deps.scheduleSweep(Date.now() + barMs);
      }
      this.#deps.log.warn({ room: this.name, event: 'participantRemoved', participant: participantId, by: by.id, identity: removed.identity?.slice(0, 12), barredSeconds: removed.identity ? barMs / 1000 : 0 }, 'a moderator removed a participant');
      const target = this.#connectionOf(participantId);
      if (target) {
        target.participantId = undefined;
        target.close(CloseCode.Removed, 'removed by a moderator');
      }
      await this.#removeParticipant(participantId);
      return {};
    },

    endMeeting: async (conn) => {
      this.#moderator(conn);
      const me = conn.participantId;
      for (const c of [...this.#deps.connections()]) {
        // Compared by id: a runtime may hand out a new wrapper for the same socket (Durable Objects do).
        const id = c.participantId;
        if (!id || id === me) continue;
        c.participantId = undefined;
        c.close(CloseCode.MeetingEnded, 'the meeting was ended');
      }
      this.#state.lobby.clear();
      for (const id of [...this.#state.participants.keys()]) if (id !== me) await this.#removeParticipant(id, false);
      await this.#leave(conn);
      return {};
    },

    leave: async (conn) => {
      this.#joined(conn);
      await this.#leave(conn);
      return {};
    },

    ping: async () => ({ time: Date.now() }),
  };

  /** The identity a join claims: verified from a token (before the queue, see #preVerify), or a guest by the deployment's policy. */
  #identify(token: string | undefined, name: string | undefined, claims: VerifiedJoin | undefined): { name: string; role: Role; media?: MediaConstraint; identity?: string } {
    const { verifier, guestPolicy } = this.#deps.access;
    if (token) {
      // Only when the socket had joined at #preVerify's look and left before this turn (it is closing anyway).
      if (!claims) throw new TreffpunktError(ErrorCode.Unauthorized, 'the join token was not checked; send join again');
      const media = claims.media && { ...(claims.media.operators ? { operators: claims.media.operators } : {}), ...(claims.media.jurisdictions ? { jurisdictions: expandJurisdictions(claims.media.jurisdictions) } : {}) };
      return { name: claims.name, role: claims.role, identity: claims.identity, ...(media ? { media } : {}) };
    }
    if (!name) throw new TreffpunktError(ErrorCode.BadMessage, 'a name is required when joining without a token');
    if (verifier.enabled) {
      if (guestPolicy === 'deny') throw new TreffpunktError(ErrorCode.Unauthorized, 'this meeting needs a join token');
      return { name, role: 'guest' };
    }
    // An open deployment (no token issuers configured): whoever opens the room moderates it.
    return { name, role: this.#state.size === 0 ? 'moderator' : 'participant' };
  }

  /**
   * A token identity is used by one participant at a time (unless its issuer allows several sessions),
   * and not at all while a moderator's removal bars it. When its holder's socket is down (a reloaded
   * tab, a lost network), the new join takes over: the person is back, the stale participant leaves.
   * A holder that is still connected keeps its place: the newcomer gets ALREADY_IN_ROOM, so a leaked
   * token cannot push the rightful holder out (and the holder can still leave and come back).
   */
  async #claimIdentity(v: VerifiedJoin): Promise<void> {
    const short = v.identity.slice(0, 12);
    if (this.#state.isBarred(v.identity, Date.now())) {
      this.#deps.log.warn({ room: this.name, event: 'barredRejoinRefused', identity: short }, 'a removed participant tried to join again');
      throw new TreffpunktError(ErrorCode.RemovedFromRoom, 'a moderator removed you from this meeting; you cannot join it again for now');
    }
    if (v.multipleSessions) return;
    const holder = this.#state.holderOf(v.identity);
    if (holder?.participant && holder.participant.disconnectedAt !== undefined) {
      this.#deps.log.info({ room: this.name, participant: holder.participant.id }, 'a new join with the same token takes over a disconnected participant');
      await this.#removeParticipant(holder.participant.id);
    } else if (holder) {
      this.#deps.log.warn({ room: this.name, event: 'identityInUse', identity: short, participant: holder.participant?.id ?? holder.waiting?.id }, 'a join token already in use was refused');
      throw new TreffpunktError(ErrorCode.AlreadyInRoom, 'this invitation is already in use in this meeting (another tab or device?)');
    }
  }

  /**
   * A token's `media` claim: the first one into an empty room fixes where the room's media may go; a later
   * token naming other rules is refused, so that nobody can widen (or silently change) them mid-meeting.
   */
  #adoptMediaClaim(media: MediaConstraint | undefined): void {
    if (!media) return;
    if (this.#state.size === 0 && this.#state.lobby.size === 0 && !this.#state.constraint) {
      this.#state.constraint = media;
      return;
    }
    if (!sameConstraint(this.#state.constraint ?? {}, media)) {
      throw new TreffpunktError(ErrorCode.ConstraintUnmet, 'your join token names other media rules (operators, jurisdictions) than this meeting has');
    }
  }

  /**
   * A guest may not take the name of a verified participant (in the room or waiting in the lobby): nobody
   * can join as "the moderator" by typing their name. Two guests may share a name; both show as guests.
   */
  #refuseVerifiedName(name: string): void {
    const key = nameKey(name);
    const verified = [...this.#state.participants.values(), ...this.#state.lobby.values()].some((p) => p.verified === true && nameKey(p.name) === key);
    if (verified) throw new TreffpunktError(ErrorCode.NameTaken, 'someone with a verified identity in this meeting has that name; please choose another');
  }

  /** Refuses a request that would pass a per-participant limit, and says so in the log (pseudonymous). */
  #limit(participantId: string, what: string, message: string): never {
    this.#deps.log.warn({ room: this.name, participant: participantId, limit: what }, 'security: limit reached, request refused');
    throw new TreffpunktError(ErrorCode.LimitExceeded, message);
  }

  /** Where this room's media may go: the deployment's constraint, narrowed by the room's own. */
  #constraint(): MediaConstraint {
    return intersectConstraints(this.#deps.mediaConstraint, this.#state.constraint ?? {});
  }

  /** Puts a participant into the room on a media node; the join result they get. */
  async #enter(id: string, who: { name: string; role: Role; verified: boolean; identity?: string | undefined }, region: string | undefined): Promise<JoinResult> {
    const node = await this.#deps.nodes.select({ roomNodeIds: this.#state.nodeIds(), region, constraint: this.#constraint() }).catch(async (err: unknown) => {
      if (err instanceof TreffpunktError && err.code === ErrorCode.NoMediaNode) {
        this.#deps.log.warn({ room: this.name, heartbeatAgesMs: await this.#deps.nodes.heartbeatAges() }, 'no media node for a newcomer');
      }
      throw err;
    });
    const routerRtpCapabilities = await this.#routerCapabilities(node);
    const resumeToken = newResumeToken();
    const first = this.#state.size === 0;
    const participant = this.#state.addParticipant({ id, name: who.name, verified: who.verified, role: who.role, nodeId: node.nodeId, region, joinedAt: Date.now(), resumeHash: await sha256(resumeToken), identity: who.identity });
    this.#state.abandoned.delete(node.nodeId);
    // The room watches its nodes while it has participants (failover and drain; see sweep()).
    if (first) this.#deps.scheduleSweep(Date.now() + this.#deps.nodeCheckIntervalMs);
    this.#deps.log.info({ room: this.name, participant: id, role: who.role, node: node.nodeId, size: this.#state.size }, 'participant joined');
    this.#broadcast('participantJoined', { participant: this.#state.info(participant) }, id);
    return { protocolVersion: PROTOCOL_VERSION, participantId: id, resumeToken, role: who.role, locked: this.#state.locked, routerRtpCapabilities, participants: this.#state.others(id) };
  }

  #moderator(conn: Connection) {
    const p = this.#joined(conn);
    if (p.role !== 'moderator') throw new TreffpunktError(ErrorCode.Forbidden, 'only moderators may do that');
    return p;
  }

  #connectionOf(participantId: string): Connection | undefined {
    for (const c of this.#deps.connections()) if (c.participantId === participantId) return c;
    return undefined;
  }

  /**
   * Sends a frame, ignoring a socket that is already gone: its close event does the clean-up, and one
   * dead socket must never stop a broadcast.
   */
  #trySend(conn: Connection, frame: string): void {
    try {
      conn.send(frame);
    } catch (err) {
      this.#deps.log.debug({ room: this.name, participant: conn.participantId, ...errorFields(err) }, 'send failed');
    }
  }

  /**
   * An event for one participant. One whose socket is down (within its grace period) gets it after its
   * `resume` instead; only the last MISSED_EVENTS_KEPT are kept (a client away that long re-syncs anyway).
   */
  #sendTo<E extends EventName>(participantId: string, event: E, data: EventData<E>): void {
    const conn = this.#connectionOf(participantId);
    if (conn) return this.#trySend(conn, JSON.stringify({ event, data }));
    const p = this.#state.participants.get(participantId);
    if (p?.disconnectedAt !== undefined) p.missed = [...(p.missed ?? []), { event, data }].slice(-MISSED_EVENTS_KEPT);
  }

  /** Tells the moderators who waits in the lobby. */
  #lobbyFrame(): string {
    return JSON.stringify({ event: 'lobbyChanged', data: { waiting: [...this.#state.lobby.values()].map((e) => ({ id: e.id, name: e.name, verified: e.verified ?? false })) } });
  }

  /** At once if none went out lately, else once at the end of the interval, with the list as it is then. */
  #notifyLobby(): void {
    if (this.#lobbyTimer !== undefined) return;
    const wait = this.#lobbySentAt + LOBBY_NOTIFY_MS - Date.now();
    if (wait <= 0) return this.#sendLobby();
    this.#lobbyTimer = setTimeout(() => {
      this.#lobbyTimer = undefined;
      this.#sendLobby();
    }, wait);
  }

  #sendLobby(): void {
    this.#lobbySentAt = Date.now();
    const frame = this.#lobbyFrame();
    for (const c of this.#deps.connections()) {
      const p = c.participantId ? this.#state.participants.get(c.participantId) : undefined;
      if (p?.role === 'moderator') this.#trySend(c, frame);
    }
  }

  #joined(conn: Connection) {
    const id = conn.participantId;
    if (!id) throw new TreffpunktError(ErrorCode.NotJoined, 'join the room first');
    return this.#state.participant(id);
  }

  async #routerCapabilities(node: MediaNodeClient): Promise<RtpCapabilities> {
    let caps = this.#routerCaps.get(node.nodeId);
    if (!caps) {
      caps = (await node.call('ensureRouter', `/v1/rooms/${this.name}/router`, {})).rtpCapabilities;
      this.#routerCaps.set(node.nodeId, caps);
    }
    return caps;
  }

  async #leave(conn: Connection): Promise<void> {
    const id = conn.participantId;
    if (!id) return;
    conn.participantId = undefined;
    if (this.#state.lobby.delete(id)) this.#notifyLobby();
    await this.#removeParticipant(id);
  }

  async #removeParticipant(id: string, tellOthers = true): Promise<void> {
    const p = this.#state.removeParticipant(id);
    if (!p) return;
    this.#deps.log.info({ room: this.name, participant: id, size: this.#state.size }, 'participant left');
    if (this.#state.size === 0) this.#state.constraint = undefined;
    if (tellOthers) this.#broadcast('participantLeft', { participantId: id }, id);
    try {
      for (const [producerId, producer] of p.producers) await this.#pipes.closeCopies(producerId, producer);
      if (p.nodeId) await (await this.#deps.nodes.client(p.nodeId)).call('closeParticipant', `/v1/rooms/${this.name}/participants/${id}/close`, {});
      if (this.#state.size === 0) {
        for (const nodeId of this.#routerCaps.keys()) await this.#closeRoomOn(nodeId);
        this.#routerCaps.clear();
        this.#state.links.clear();
      }
    } catch (err) {
      // The participant is gone from the room either way; the node cleans up when its transports time out.
      this.#deps.log.warn({ room: this.name, participant: id, ...errorFields(err) }, 'media node cleanup failed');
    }
    if (this.#state.size === 0) this.#deps.onEmpty?.();
  }

  #broadcast<E extends EventName>(event: E, data: EventData<E>, exceptParticipantId?: string): void {
    const frame = JSON.stringify({ event, data });
    for (const conn of this.#deps.connections()) {
      const pid = conn.participantId;
      if (pid && pid !== exceptParticipantId && this.#state.participants.has(pid)) this.#trySend(conn, frame);
    }
  }

  #sendError(conn: Connection, id: number | null, err: unknown): void {
    const wire = toWireError(err);
    if (wire.code === ErrorCode.Internal) {
      this.#deps.log.error({ room: this.name, ...errorFields(err) }, 'request failed');
    }
    this.#trySend(conn, JSON.stringify({ id, ok: false, error: wire }));
  }
}

/**
 * Whose TURN quota an allocation counts against: the token identity (issuer and subject, see join-tokens.ts)
 * for a token holder, so that joining again with a new participant id does not reset it; a guest has no
 * identity beyond the join, so a guest counts per participant id.
 */
function turnIdentity(p: ParticipantState): string {
  return p.identity ?? p.id;
}

function newResumeToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(24)));
}

async function sha256(text: string): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

function byteLength(s: string): number {
  // Cheap upper bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  return s.length * 3 <= 1024 ? s.length * 3 : new TextEncoder().encode(s).byteLength;
}

/** The request id of a malformed request, when one can be read, so the client can match the error. */
function requestIdOf(json: unknown): number | null {
  if (typeof json === 'object' && json !== null && 'id' in json) {
    const id = (json as { id: unknown }).id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return id;
  }
  return null;
}
