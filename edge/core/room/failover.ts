/**
 * Failover and drain: a media node that lost its heartbeat, failed a control call and its health check,
 * or said it is going down no longer carries the room. Its participants are moved to other nodes that
 * meet the room's constraint (mediaMoved) or told that none may carry them (mediaUnavailable); nodes
 * left while unreachable are told to close the room once they are back.
 */
import { ErrorCode, toWireError } from '../../../shared/errors.ts';
import { errorFields } from '../logger.ts';
import { roomConstraint, type RoomContext } from './context.ts';
import type { RoomMedia } from './media.ts';
import type { Participant } from './participant.ts';
import type { RoomPipes } from './pipes.ts';
import type { Presence } from './presence.ts';

type MoveReason = 'nodeFailed' | 'nodeDraining';

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
    ])) {
      let status = await deps.nodes.status(nodeId);
      if (status === 'up' && this.#suspects.delete(nodeId) && !(await (await deps.nodes.client(nodeId)).reachable())) {
        deps.log.warn({ room: name, node: nodeId }, 'a media node failed a control call and its health check: lost');
        status = 'lost';
      }
      // Unknown to an edge that has just restarted: the node re-registers with its next heartbeat. Its
      // participants stay where their media flows; once the pending time is over, unknown is lost.
      if (status === 'pending') continue;
      if (state.routers.isAbandoned(nodeId) && !state.nodeIds().includes(nodeId)) {
        if (status === 'up') await this.closeRoomOn(nodeId);
        continue;
      }
      if (status !== 'up') await this.#moveOff(nodeId, status === 'draining' ? 'nodeDraining' : 'nodeFailed');
    }
    for (const p of state.participants.values()) if (p.nodeId === '') await this.#place(p, 'nodeFailed');
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
   * constraint and told to publish again (mediaMoved). Clients re-publish audio first.
   */
  async #moveOff(nodeId: string, reason: MoveReason): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const moving = [...state.participants.values()].filter((p) => p.nodeId === nodeId);
    deps.log.warn(
      { room: name, node: nodeId, reason, participants: moving.length },
      'moving the room off a media node',
    );
    await this.#pipes.dropNode(nodeId);
    for (const p of moving) {
      for (const producerId of state.loseMedia(p.id))
        this.#presence.broadcast('producerClosed', { participantId: p.id, producerId }, p.id);
    }
    state.routers.forget(nodeId);
    for (const p of moving) await this.#place(p, reason, nodeId);
    // A draining node is alive: it frees the room now. A lost one is told when (if) it comes back.
    if (reason === 'nodeFailed' || !(await this.closeRoomOn(nodeId))) state.routers.abandon(nodeId);
  }

  /** Gives a participant without a usable node a new one, or tells them that none may carry them. */
  async #place(p: Participant, reason: MoveReason, leaving?: string): Promise<void> {
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
      this.#presence.sendTo(p.id, 'mediaMoved', { reason, routerRtpCapabilities });
      deps.metrics?.failover(reason);
    } catch (err) {
      const wasPlaced = p.nodeId !== '';
      state.withoutNode(p.id);
      if (!wasPlaced) return;
      const wire = toWireError(err);
      deps.log.warn({ room: name, participant: p.id, code: wire.code }, 'no media node may carry the participant');
      deps.metrics?.failover('unavailable');
      this.#presence.sendTo(p.id, 'mediaUnavailable', {
        code: wire.code === ErrorCode.ConstraintUnmet ? 'CONSTRAINT_UNMET' : 'NO_MEDIA_NODE',
        message: wire.code === ErrorCode.Internal ? 'no media node is available' : wire.message,
      });
    }
  }
}
