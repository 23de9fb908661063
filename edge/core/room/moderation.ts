/**
 * What moderators may do to others: mute them (their producers pause on the node), ask them to unmute,
 * remove them (and bar their token identity for a while), lock the room, end the meeting for everyone.
 * Letting people in from the lobby is admission's (admission.ts).
 */
import { CloseCode } from '../../../shared/signaling.ts';
import { moderator, type Handlers, type RoomContext } from './context.ts';
import type { RoomMedia } from './media.ts';
import type { Presence } from './presence.ts';
import type { Roster } from './roster.ts';

export class Moderation {
  readonly #ctx: RoomContext;
  readonly #presence: Presence;
  readonly #media: RoomMedia;
  readonly #roster: Roster;

  constructor(ctx: RoomContext, parts: { presence: Presence; media: RoomMedia; roster: Roster }) {
    this.#ctx = ctx;
    this.#presence = parts.presence;
    this.#media = parts.media;
    this.#roster = parts.roster;
  }

  readonly handlers: Handlers<'lockRoom' | 'muteParticipant' | 'askToUnmute' | 'removeParticipant' | 'endMeeting'> = {
    lockRoom: async (conn, { locked }) => {
      moderator(this.#ctx.state, conn);
      this.#ctx.state.setLocked(locked);
      this.#presence.broadcast('roomLocked', { locked });
      return {};
    },

    muteParticipant: async (conn, { participantId, source }) => {
      const { deps, state } = this.#ctx;
      moderator(state, conn);
      const target = state.participant(participantId);
      const node = await deps.nodes.client(target.nodeId);
      for (const [producerId, producer] of target.producers) {
        if (producer.source !== source || producer.paused) continue;
        await this.#media.setPaused(node, participantId, producerId, true);
        this.#presence.broadcast('producerPaused', { participantId, producerId, paused: true });
      }
      this.#presence.sendTo(participantId, 'mutedByModerator', { source });
      return {};
    },

    askToUnmute: async (conn, { participantId, source }) => {
      moderator(this.#ctx.state, conn);
      this.#ctx.state.participant(participantId);
      this.#presence.sendTo(participantId, 'unmuteRequested', { source });
      return {};
    },

    removeParticipant: async (conn, { participantId }) => {
      await this.expel(participantId, moderator(this.#ctx.state, conn).id);
      return {};
    },

    endMeeting: async (conn) => {
      moderator(this.#ctx.state, conn);
      await this.endForAll(conn.participantId);
      await this.#roster.leave(conn);
      return {};
    },
  };

  /**
   * Removes a participant (closed with 4001) and bars their token identity for a while. `by`: the
   * moderator's participant id, or 'admin' for the admin API. NOT_FOUND for someone not in the room.
   */
  async expel(participantId: string, by: string): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const removed = state.participant(participantId);
    // Kick means out (issue 10): the same token, or another with the same subject, cannot walk back in.
    const barMs = deps.access.removalBarMs;
    if (removed.identity && barMs > 0) {
      state.bar(removed.identity, Date.now() + barMs);
      deps.scheduleSweep(Date.now() + barMs);
    }
    deps.log.warn(
      {
        security: true,
        event: 'participantRemoved',
        room: name,
        participant: participantId,
        by,
        identity: removed.identity?.slice(0, 12),
        barredSeconds: removed.identity ? barMs / 1000 : 0,
      },
      'a moderator removed a participant',
    );
    const target = this.#presence.connectionOf(participantId);
    if (target) {
      target.participantId = undefined;
      target.close(CloseCode.Removed, 'removed by a moderator');
    }
    await this.#roster.remove(participantId);
  }

  /**
   * Ends the meeting: every socket but `except`'s (the moderator who ended it; the admin API has none)
   * is closed with 4000, the lobby is emptied, everyone leaves. Returns how many participants were ended.
   */
  async endForAll(except?: string): Promise<number> {
    const { deps, state } = this.#ctx;
    for (const c of [...deps.connections()]) {
      // Compared by id: a runtime may hand out a new wrapper for the same socket (Durable Objects do).
      const id = c.participantId;
      if (!id || id === except) continue;
      c.participantId = undefined;
      c.close(CloseCode.MeetingEnded, 'the meeting was ended');
    }
    state.clearLobby();
    const ended = [...state.participants.keys()].filter((id) => id !== except);
    for (const id of ended) await this.#roster.remove(id, false);
    return ended.length;
  }
}
