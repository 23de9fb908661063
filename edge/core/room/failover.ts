/**
 * Failover and drain: a media node that lost its heartbeat, failed a control call and its health check,
 * or said it is going down no longer carries the room. Its participants are moved to other nodes that
 * meet the room's constraint (mediaMoved) or told that none may carry them (mediaUnavailable); nodes
 * left while unreachable are told to close the room once they are back.
 *
 * A failed node is left break-before-make: its media is gone already. A draining node is left
 * make-before-break (issue 14): its media still flows while the participants build theirs on the new
 * node (mediaMoved with keepOld), and the room closes itself there only once every moved participant
 * said its new media is up (mediaMoveDone), or at the handover deadline (a Handover in RoomState).
 */
import { ErrorCode, toWireError } from '../../../shared/errors.ts';
import { errorFields } from '../logger.ts';
import { joined, roomConstraint, type Handlers, type RoomContext } from './context.ts';
import type { RoomMedia } from './media.ts';
import type { Participant } from './participant.ts';
import type { RoomPipes } from './pipes.ts';
import type { Presence } from './presence.ts';

type MoveReason = 'nodeFailed' | 'nodeDraining';

/**
 * How long a draining node keeps carrying the room's old media at most, for participants that do not say
 * mediaMoveDone (TREFFPUNKT_HANDOVER_DEADLINE_MS). The app is told (mediaMoved's keepOldMs) and gives its
 * new consumers a little less to decode, so that a slow but working page switches before it is cut off.
 * A few seconds more than a move takes on a busy machine (3–4 s, docs/benchmarks.md); well below the
 * node's drain timeout (TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS, 30 s by default), so that the node still sees
 * the room leave and exits because it is empty rather than at its timeout.
 */
export const HANDOVER_DEADLINE_MS = 15_000;
/** At most this many producer ids in a mediaMoved's `staying` (shared/signaling.ts); see the app's fallback. */
const STAYING_MAX = 10_000;

export class Failover {
  readonly #ctx: RoomContext;
  readonly #presence: Presence;
  readonly #media: RoomMedia;
  readonly #pipes: RoomPipes;
  /** Nodes a control call could not reach: checked at once, not only when their heartbeats stop. */
  readonly #suspects = new Set<string>();

  constructor(ctx: RoomContext, parts: { presence: Presence; media: RoomMedia; pipes: RoomPipes }) {
    this.#ctx = ctx;
    this.#presence = parts.presence;
    this.#media = parts.media;
    this.#pipes = parts.pipes;
  }

  /** A control call to this node found nobody there: the next sweep (due now) checks it. */
  suspect(nodeId: string): void {
    if (this.#suspects.has(nodeId)) return;
    this.#suspects.add(nodeId);
    this.#ctx.deps.scheduleSweep(Date.now());
  }

  /**
   * Checks every node the room uses, is piped to or left behind. Participants still waiting for a node
   * (mediaUnavailable) get one as soon as one may carry them.
   */
  async checkNodes(): Promise<void> {
    const { name, deps, state } = this.#ctx;
    for (const nodeId of new Set([
      ...state.nodeIds(),
      ...state.routers.linkedNodeIds(),
      ...state.routers.abandonedNodeIds(),
      ...state.handovers().map((h) => h.nodeId),
    ])) {
      let status = await deps.nodes.status(nodeId);
      if (status === 'up' && this.#suspects.delete(nodeId) && !(await (await deps.nodes.client(nodeId)).reachable())) {
        deps.log.warn({ room: name, node: nodeId }, 'a media node failed a control call and its health check: lost');
        status = 'lost';
      }
      // Unknown to an edge that has just restarted: the node re-registers with its next heartbeat. Its
      // participants stay where their media flows; once the pending time is over, unknown is lost.
      if (status === 'pending') continue;
      // Being handed over from: it ends by mediaMoveDone or its deadline (below), at once if the node died.
      if (state.handover(nodeId)) {
        if (status === 'lost') await this.#endHandover(nodeId, true);
        continue;
      }
      if (state.routers.isAbandoned(nodeId) && !state.nodeIds().includes(nodeId)) {
        if (status === 'up') await this.closeRoomOn(nodeId);
        continue;
      }
      if (status === 'unresponsive') {
        await this.#leaveUnresponsive(nodeId);
        continue;
      }
      if (status !== 'up') await this.#moveOff(nodeId, status === 'draining' ? 'nodeDraining' : 'nodeFailed');
    }
    const now = Date.now();
    for (const h of state.handovers())
      if (h.deadline <= now || h.waiting.length === 0) await this.#endHandover(h.nodeId);
    for (const p of state.participants.values()) if (p.nodeId === '') await this.#place(p, 'nodeFailed');
  }

  readonly handlers: Handlers<'mediaMoveDone'> = {
    mediaMoveDone: async (conn) => {
      const p = joined(this.#ctx.state, conn);
      for (const nodeId of this.#ctx.state.handoverDone(p.id)) await this.#endHandover(nodeId);
      return {};
    },
  };

  /**
   * A participant left while its old media was being handed over: it goes on the old node now (the others
   * drop it with participantLeft), and an empty room ends its handovers (closing itself there).
   */
  async participantLeft(participantId: string): Promise<void> {
    const { name, deps, state } = this.#ctx;
    for (const h of state.handovers()) {
      if (!h.moved.includes(participantId)) continue;
      if (state.size === 0) await this.#endHandover(h.nodeId);
      else
        await (await deps.nodes.client(h.nodeId))
          .call('closeParticipant', { room: name, participantId }, {})
          .catch((err: unknown) =>
            deps.log.debug({ room: name, node: h.nodeId, ...errorFields(err) }, 'closing old media failed'),
          );
    }
  }

  /**
   * Called outside the request queue: a request hanging on a frozen node would otherwise hold up the
   * very check that finds the node lost. Reads the state only.
   */
  async abortCallsToLostNodes(): Promise<void> {
    const { name, deps, state } = this.#ctx;
    try {
      for (const nodeId of state.nodeIds())
        if ((await deps.nodes.status(nodeId)) === 'lost') deps.nodes.abortCalls(nodeId);
    } catch (err) {
      deps.log.debug({ room: name, ...errorFields(err) }, 'node status check failed');
    }
  }

  /** Tells a node to close the room; one that cannot be told is left behind (abandoned) and told later. */
  async closeRoomOn(nodeId: string): Promise<boolean> {
    const { name, deps, state } = this.#ctx;
    try {
      await (await deps.nodes.client(nodeId)).call('closeRoom', { room: name }, {});
      state.routers.reclaim(nodeId);
      return true;
    } catch (err) {
      deps.log.debug(
        { room: name, node: nodeId, ...errorFields(err) },
        'closing the room on a node left behind failed',
      );
      state.routers.abandon(nodeId);
      return false;
    }
  }

  /**
   * Moves every participant of the room off `nodeId`: the pipes to it close, their producers are gone
   * for the others (producerClosed), and each is placed on another node that meets the room's
   * constraint and told to publish again (mediaMoved). Clients re-publish audio first. A draining node
   * is handed over from instead (#handOver).
   */
  async #moveOff(nodeId: string, reason: MoveReason, why: string = reason): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const moving = [...state.participants.values()].filter((p) => p.nodeId === nodeId);
    deps.log.warn(
      { room: name, node: nodeId, reason: why, participants: moving.length },
      'moving the room off a media node',
    );
    if (reason === 'nodeDraining') return this.#handOver(nodeId, moving);
    await this.#pipes.dropNode(nodeId);
    for (const p of moving) {
      for (const producerId of state.loseMedia(p.id))
        this.#presence.broadcast('producerClosed', { participantId: p.id, producerId }, p.id);
    }
    state.routers.forget(nodeId);
    for (const p of moving) await this.#place(p, reason, nodeId);
    // A lost node is told to close the room when (if) it comes back.
    state.routers.abandon(nodeId);
  }

  /**
   * A node whose link fell silent (node-links.ts) while its health check runs: frozen, or only slow. Its
   * participants are handed over make-before-break at once, as off a draining node, when another node
   * can take every one of them: a frozen node's media is gone already, and the move starts a second
   * before the verdict; a slow node's media keeps playing until the new media decodes, so being wrong
   * costs nobody a picture. If the verdict is lost, the handover ends at once (checkNodes); if the node
   * answers, the handover runs to its end. With no other node, the room waits for the verdict.
   */
  async #leaveUnresponsive(nodeId: string): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const moving = [...state.participants.values()].filter((p) => p.nodeId === nodeId);
    if (moving.length === 0) return;
    try {
      for (const p of moving)
        await deps.nodes.select({
          roomNodeIds: state.nodeIds().filter((n) => n !== nodeId),
          region: p.region,
          constraint: roomConstraint(this.#ctx),
          exclude: [nodeId],
        });
    } catch (err) {
      deps.log.info(
        { room: name, node: nodeId, ...errorFields(err) },
        'a media node link is silent, no other node may take its participants: waiting for its health check',
      );
      return;
    }
    await this.#moveOff(nodeId, 'nodeDraining', 'nodeUnresponsive');
  }

  /**
   * Make-before-break off a draining node: the old producers leave the room's state (newcomers and
   * everyone's new consumers get the new ones) without a word to anyone, so that their consumers keep
   * playing; the pipes to the node stay, for the participants on other nodes. Each moved participant is
   * placed on another node (mediaMoved with keepOld). The handover ends (#endHandover) when all of them
   * said mediaMoveDone, or at HANDOVER_DEADLINE_MS: the sweep is due then.
   */
  async #handOver(nodeId: string, moving: Participant[]): Promise<void> {
    const { deps, state } = this.#ctx;
    const producers = moving.flatMap((p) =>
      state.loseMedia(p.id).map((producerId) => ({ participantId: p.id, producerId })),
    );
    state.routers.forget(nodeId);
    const staying = [...state.participants.values()].flatMap((p) => [...p.producers.keys()]).slice(0, STAYING_MAX);
    const keepOldMs = deps.handoverDeadlineMs ?? HANDOVER_DEADLINE_MS;
    const moved: string[] = [];
    for (const p of moving) if (await this.#place(p, 'nodeDraining', nodeId, { staying, keepOldMs })) moved.push(p.id);
    const deadline = Date.now() + keepOldMs;
    state.startHandover({ nodeId, deadline, moved, waiting: moved, producers });
    if (moved.length === 0) await this.#endHandover(nodeId);
    else deps.scheduleSweep(deadline);
  }

  /**
   * The handover from a draining node is over: the others are told that the old producers closed, each
   * moved participant that its old media goes (oldMediaClosed), and the room leaves the node (its pipes,
   * then its router, which the node's drain waits for). A node found lost meanwhile is not called (a
   * frozen one would hold the room for a call's whole deadline): it is told when it is back.
   */
  async #endHandover(nodeId: string, lost = false): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const h = state.endHandover(nodeId);
    if (!h) return;
    deps.log.info(
      { room: name, node: nodeId, waitedFor: h.waiting.length, timedOut: h.waiting.length > 0 },
      'handover off a draining media node ends',
    );
    for (const { participantId, producerId } of h.producers)
      this.#presence.broadcast('producerClosed', { participantId, producerId }, participantId);
    for (const id of h.moved) if (state.participants.has(id)) this.#presence.sendTo(id, 'oldMediaClosed', {});
    await this.#pipes.dropNode(nodeId);
    if (lost) state.routers.abandon(nodeId);
    else await this.closeRoomOn(nodeId);
  }

  /**
   * Gives a participant without a usable node a new one, or tells them that none may carry them.
   * `keepOld`: for a move off a draining node, the room's producers that do not move and how long the
   * old media stays. Returns whether the participant got a node.
   */
  async #place(
    p: Participant,
    reason: MoveReason,
    leaving?: string,
    keepOld?: { staying: string[]; keepOldMs: number },
  ): Promise<boolean> {
    const { name, deps, state } = this.#ctx;
    try {
      const node = await deps.nodes.select({
        roomNodeIds: state.nodeIds().filter((n) => n !== leaving),
        region: p.region,
        constraint: roomConstraint(this.#ctx),
        exclude: leaving ? [leaving] : [],
      });
      const routerRtpCapabilities = await this.#media.routerCapabilities(node);
      state.placeOn(p.id, node.nodeId);
      deps.log.info(
        { room: name, participant: p.id, node: node.nodeId, reason },
        'participant moved to another media node',
      );
      this.#presence.sendTo(p.id, 'mediaMoved', {
        reason,
        routerRtpCapabilities,
        ...(keepOld ? { keepOld: true as const, ...keepOld } : {}),
      });
      deps.metrics?.failover(reason);
      return true;
    } catch (err) {
      const wasPlaced = p.nodeId !== '';
      state.withoutNode(p.id);
      if (!wasPlaced) return false;
      const wire = toWireError(err);
      deps.log.warn({ room: name, participant: p.id, code: wire.code }, 'no media node may carry the participant');
      deps.metrics?.failover('unavailable');
      this.#presence.sendTo(p.id, 'mediaUnavailable', {
        code: wire.code === ErrorCode.ConstraintUnmet ? 'CONSTRAINT_UNMET' : 'NO_MEDIA_NODE',
        message: wire.code === ErrorCode.Internal ? 'no media node is available' : wire.message,
      });
      return false;
    }
  }
}
