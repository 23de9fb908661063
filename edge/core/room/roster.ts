/**
 * Who is in the room: entering on a media node, dropping out for a grace period (and resuming, see
 * admission.ts), leaving; and the small requests of people in the room (chat, raise hand, leave).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64, toBase64Url } from '../../../shared/base64.ts';
import { ErrorCode, TreffpunktError } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol-version.ts';
import type { JoinResult, Role } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import { errorFields } from '../logger.ts';
import { joined, roomConstraint, type Handlers, type RoomContext } from './context.ts';
import type { Failover } from './failover.ts';
import type { RoomMedia } from './media.ts';
import { participantInfo } from './participant.ts';
import type { RoomPipes } from './pipes.ts';
import type { Presence } from './presence.ts';

export interface Newcomer {
  name: string;
  role: Role;
  verified: boolean;
  identity?: string | undefined;
}

export class Roster {
  readonly #ctx: RoomContext;
  readonly #presence: Presence;
  readonly #media: RoomMedia;
  readonly #pipes: RoomPipes;
  readonly #failover: Failover;

  constructor(ctx: RoomContext, parts: { presence: Presence; media: RoomMedia; pipes: RoomPipes; failover: Failover }) {
    this.#ctx = ctx;
    this.#presence = parts.presence;
    this.#media = parts.media;
    this.#pipes = parts.pipes;
    this.#failover = parts.failover;
  }

  /** Puts a participant into the room on a media node; the join result they get. */
  async enter(id: string, who: Newcomer, region: string | undefined): Promise<JoinResult> {
    const { name, deps, state } = this.#ctx;
    const node = await deps.nodes
      .select({ roomNodeIds: state.nodeIds(), region, constraint: roomConstraint(this.#ctx) })
      .catch(async (err: unknown) => {
        if (err instanceof TreffpunktError && err.code === ErrorCode.NoMediaNode) {
          deps.log.warn(
            { room: name, heartbeatAgesMs: await deps.nodes.heartbeatAges() },
            'no media node for a newcomer',
          );
        }
        throw err;
      });
    const routerRtpCapabilities = await this.#media.routerCapabilities(node);
    const resumeToken = newResumeToken();
    const first = state.size === 0;
    const participant = state.addParticipant({
      id,
      name: who.name,
      verified: who.verified,
      role: who.role,
      nodeId: node.nodeId,
      region,
      joinedAt: Date.now(),
      resumeHash: resumeHash(resumeToken),
      identity: who.identity,
    });
    // The room watches its nodes while it has participants (failover and drain; see Room.sweep()).
    if (first) deps.scheduleSweep(Date.now() + deps.nodeCheckIntervalMs);
    deps.log.info(
      { room: name, participant: id, role: who.role, node: node.nodeId, size: state.size },
      'participant joined',
    );
    this.#presence.broadcast('participantJoined', { participant: participantInfo(participant) }, id);
    if (first) deps.webhooks?.emit('room_started', name);
    deps.webhooks?.emit('participant_joined', name, participant);
    return {
      protocolVersion: PROTOCOL_VERSION,
      participantId: id,
      resumeToken,
      role: who.role,
      locked: state.locked,
      routerRtpCapabilities,
      participants: state.others(id),
    };
  }

  /**
   * A participant leaves the room (left, removed, timed out, taken over): the others are told, its media
   * is closed on the nodes, and the room itself once it is empty.
   */
  async remove(id: string, tellOthers = true): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const p = state.removeParticipant(id);
    if (!p) return;
    deps.log.info({ room: name, participant: id, size: state.size }, 'participant left');
    if (tellOthers) this.#presence.broadcast('participantLeft', { participantId: id }, id);
    deps.webhooks?.emit('participant_left', name, p);
    if (state.size === 0) deps.webhooks?.emit('room_ended', name);
    try {
      for (const [producerId, producer] of p.producers) await this.#pipes.closeCopies(producerId, producer);
      if (p.nodeId)
        await (await deps.nodes.client(p.nodeId)).call('closeParticipant', { room: name, participantId: id }, {});
      await this.#failover.participantLeft(id);
      if (state.size === 0) {
        for (const nodeId of state.routers.nodeIds()) await this.#failover.closeRoomOn(nodeId);
        state.routers.forgetAll();
      }
    } catch (err) {
      // The participant is gone from the room either way. What the node keeps, its reaper closes once it
      // stays unconnected (media-node/reaper.ts), and a room the edge forgot goes at the node's next
      // reconciliation (the rooms op of shared/node-api.ts).
      deps.log.warn({ room: name, participant: id, ...errorFields(err) }, 'media node cleanup failed');
    }
    if (state.size === 0) deps.onEmpty?.();
  }

  /** This socket's participant leaves (or stops waiting in the lobby). */
  async leave(conn: Connection): Promise<void> {
    const id = conn.participantId;
    if (!id) return;
    conn.participantId = undefined;
    if (this.#ctx.state.leaveLobby(id)) this.#presence.notifyLobby();
    await this.remove(id);
  }

  /**
   * A socket closed without `leave`: a joined participant stays for the grace period (their media keeps
   * flowing; the others see nothing) and can `resume` on a new socket. Someone in the lobby just goes.
   */
  dropped(conn: Connection): void {
    const { name, deps, state } = this.#ctx;
    const id = conn.participantId;
    if (!id) return;
    conn.participantId = undefined;
    if (state.leaveLobby(id)) return this.#presence.notifyLobby();
    if (!state.participants.has(id)) return;
    const at = Date.now();
    state.disconnected(id, at);
    deps.log.info({ room: name, participant: id }, 'participant disconnected, may resume');
    deps.scheduleSweep(at + deps.resumeGraceMs);
  }

  /** Removes those whose grace period ran out; returns when the next one's runs out (Infinity: none). */
  async removeGone(now: number): Promise<number> {
    let next = Infinity;
    for (const p of [...this.#ctx.state.participants.values()]) {
      if (p.disconnectedAt === undefined) continue;
      const due = p.disconnectedAt + this.#ctx.deps.resumeGraceMs;
      if (due <= now) await this.remove(p.id);
      else next = Math.min(next, due);
    }
    return next;
  }

  readonly handlers: Handlers<'chat' | 'setHand' | 'leave'> = {
    chat: async (conn, { text }) => {
      const p = joined(this.#ctx.state, conn);
      const time = Date.now();
      // Sent to everyone, the sender included, so that all see the same order; never stored.
      this.#presence.broadcast('chat', { participantId: p.id, name: p.name, text, time });
      return { time };
    },

    setHand: async (conn, { raised }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.setHand(p.id, raised);
      this.#presence.broadcast('handChanged', { participantId: p.id, raised });
      return {};
    },

    leave: async (conn) => {
      joined(this.#ctx.state, conn);
      await this.leave(conn);
      return {};
    },
  };
}

export function newResumeToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(24)));
}

/**
 * The stored form of a resume token. Synchronous (@noble/hashes), not WebCrypto's digest: a join hashes
 * its new token inside the room's one-at-a-time part, and an awaited digest there hands the event loop
 * to everything else for a thread-pool round trip, holding up every join behind it (issue 14: up to
 * 0.35 ms mean per join in runs with a burst of 50, docs/benchmarks.md).
 */
export function resumeHash(token: string): string {
  return toBase64(sha256(new TextEncoder().encode(token)));
}
