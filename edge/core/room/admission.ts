/**
 * Who may come in, and how: a join with a verified token or as a guest by the deployment's policy, the
 * room's capacity and lock, the lobby (moderators admit or refuse), token identities used once and
 * barred after a removal, a `resume` after a dropped socket, and sockets that never join.
 */
import { timingSafeEqual } from 'hono/utils/buffer';
import { ErrorCode, toWireError, TreffpunktError } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../../shared/protocol-version.ts';
import { CloseCode, nameKey, type Params, type Role } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import type { VerifiedJoin } from '../join-tokens.ts';
import { expandJurisdictions, type MediaConstraint } from '../media-constraint.ts';
import { moderator, type Handlers, type RoomContext } from './context.ts';
import type { RoomMedia } from './media.ts';
import { participantInfo } from './participant.ts';
import type { Presence } from './presence.ts';
import { newResumeToken, resumeHash, type Roster } from './roster.ts';

export class Admission {
  readonly #ctx: RoomContext;
  readonly #presence: Presence;
  readonly #media: RoomMedia;
  readonly #roster: Roster;
  /**
   * Sockets whose join token is being verified, keyed by their message budget: the one per-socket object
   * both runtimes keep while a socket lives (a Durable Object hands out a new Connection per event).
   */
  readonly #verifying = new WeakSet<object>();

  constructor(ctx: RoomContext, parts: { presence: Presence; media: RoomMedia; roster: Roster }) {
    this.#ctx = ctx;
    this.#presence = parts.presence;
    this.#media = parts.media;
    this.#roster = parts.roster;
  }

  /**
   * A join token is verified before the request enters the room's queue: verifying may wait for an
   * identity provider's key set, and forged tokens from a stranger must not hold up the room's requests
   * meanwhile (issue 10: a hanging IdP delayed a moderator's chat by 19.8 s). One verification per
   * socket at a time; more get RATE_LIMITED. Returns null when the request has been answered here.
   */
  async preVerify(conn: Connection, id: number, { token }: Params<'join'>): Promise<VerifiedJoin | undefined | null> {
    // Already joined: the handler answers ALREADY_JOINED without looking at the token.
    if (!token || conn.participantId) return undefined;
    if (this.#verifying.has(conn.messages)) {
      this.#presence.replyError(
        conn,
        id,
        new TreffpunktError(ErrorCode.RateLimited, 'a join token of this connection is still being checked'),
      );
      this.#ctx.deps.metrics?.request('join', ErrorCode.RateLimited, 0);
      return null;
    }
    this.#verifying.add(conn.messages);
    try {
      return await this.#ctx.deps.access.verifier.verify(token, this.#ctx.name);
    } catch (err) {
      // The reason is ours (join-tokens.ts refuse()): it names no token content, no name, no secret.
      this.#ctx.deps.log.warn(
        { security: true, event: 'tokenRefused', room: this.#ctx.name, reason: toWireError(err).message },
        'join token refused',
      );
      this.#ctx.deps.metrics?.request('join', toWireError(err).code, 0);
      this.#presence.replyError(conn, id, err);
      return null;
    } finally {
      this.#verifying.delete(conn.messages);
    }
  }

  /**
   * Closes sockets that neither joined nor resumed within joinTimeoutMs (idle strangers would otherwise
   * hold sockets, and a Durable Object's memory, for free); returns when the next one is due.
   */
  closeLateSockets(now: number): number {
    const { name, deps } = this.#ctx;
    let next = Infinity;
    for (const c of [...deps.connections()]) {
      // In the lobby counts as joined: a participantId is set while one waits there.
      if (c.participantId !== undefined) continue;
      const due = c.openedAt + deps.joinTimeoutMs;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      deps.log.warn(
        { security: true, event: 'joinTimeout', room: name, openForMs: now - c.openedAt },
        'security: closing a socket that did not join in time',
      );
      c.close(CloseCode.JoinTimeout, 'join timeout');
    }
    return next;
  }

  readonly handlers: Handlers<'join' | 'resume' | 'admit' | 'refuse'> = {
    join: async (conn, { protocolVersion, name, token, region }, verified) => {
      const { deps, state } = this.#ctx;
      if (conn.participantId) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'this connection has already joined');
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)) {
        throw new TreffpunktError(
          ErrorCode.UnsupportedProtocolVersion,
          `protocol version ${protocolVersion} is not supported; this edge speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
        );
      }
      const who = this.#identify(token, name, verified);
      if (verified) await this.#claimIdentity(verified);
      // A name from a join token is vouched for by its issuer; a typed one is not (ParticipantInfo.verified).
      const isVerified = token !== undefined;
      if (!isVerified) this.#refuseVerifiedName(who.name);
      state.adoptMediaClaim(who.media);
      if (state.size >= state.capacity)
        throw new TreffpunktError(ErrorCode.RoomFull, `room is full (${state.capacity} participants)`);
      // Guests wait under the lobby policy, and everyone but moderators waits in a locked room.
      const mustWait =
        who.role !== 'moderator' && (state.locked || (who.role === 'guest' && deps.access.guestPolicy === 'lobby'));
      const id = crypto.randomUUID();
      if (mustWait) {
        if (state.locked && !state.hasModerator())
          throw new TreffpunktError(ErrorCode.RoomLocked, 'the room is locked');
        if (state.lobby.size >= deps.lobbyCapacity) {
          deps.log.warn(
            { security: true, event: 'lobbyFull', room: this.#ctx.name, waiting: state.lobby.size },
            'security: lobby full, newcomer refused',
          );
          throw new TreffpunktError(
            ErrorCode.LobbyFull,
            `too many people are waiting to be let in (${deps.lobbyCapacity}); try again later`,
          );
        }
        state.addToLobby({
          id,
          name: who.name,
          role: who.role,
          verified: isVerified,
          since: Date.now(),
          region,
          identity: who.identity,
        });
        conn.participantId = id;
        deps.log.info({ room: this.#ctx.name, participant: id }, 'participant waits in the lobby');
        this.#presence.notifyLobby();
        throw new TreffpunktError(ErrorCode.WaitingInLobby, 'please wait: a moderator will let you in');
      }
      // Marked joined only once in: a join that fails (no media node) leaves the socket free to try again.
      const result = await this.#roster.enter(id, { ...who, verified: isVerified }, region);
      conn.participantId = id;
      return result;
    },

    resume: async (conn, { protocolVersion, participantId, resumeToken }) => {
      const { name, deps, state } = this.#ctx;
      if (conn.participantId) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'this connection has already joined');
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion))
        throw new TreffpunktError(
          ErrorCode.UnsupportedProtocolVersion,
          `protocol version ${protocolVersion} is not supported`,
        );
      const p = state.participants.get(participantId);
      // Same answer for an unknown id and a wrong token; the comparison is of hashes, in constant time.
      if (!p || !(await timingSafeEqual(resumeHash(resumeToken), p.resumeHash))) {
        throw new TreffpunktError(
          ErrorCode.Unauthorized,
          'cannot resume: unknown participant or wrong token, join again',
        );
      }
      // A second socket resuming the same participant takes over; the old one is closed.
      for (const other of deps.connections()) {
        if (other !== conn && other.participantId === participantId) {
          other.participantId = undefined;
          other.close(CloseCode.Left, 'resumed elsewhere');
        }
      }
      conn.participantId = participantId;
      const token = newResumeToken();
      state.resumed(participantId, resumeHash(token));
      deps.log.info({ room: name, participant: participantId }, 'participant resumed');
      // Without a node (mediaUnavailable) the client gets any known capabilities; mediaMoved follows.
      // The room's own copy first: right after an edge restart the node may not have registered again yet.
      const routerRtpCapabilities = p.nodeId
        ? (state.routers.capabilities(p.nodeId) ??
          (await this.#media.routerCapabilities(await deps.nodes.client(p.nodeId))))
        : (state.routers.anyCapabilities() ?? { codecs: [], headerExtensions: [] });
      return {
        protocolVersion: PROTOCOL_VERSION,
        participantId,
        resumeToken: token,
        role: p.role,
        locked: state.locked,
        routerRtpCapabilities,
        participants: state.others(participantId),
        you: participantInfo(p),
      };
    },

    admit: async (conn, { participantId }) => {
      const { name, deps, state } = this.#ctx;
      moderator(state, conn);
      const entry = state.lobby.get(participantId);
      const waiting = this.#presence.connectionOf(participantId);
      if (!entry || !waiting) throw new TreffpunktError(ErrorCode.NotFound, 'nobody with that id waits in the lobby');
      state.leaveLobby(participantId);
      deps.log.warn(
        {
          security: true,
          event: 'lobbyAdmitted',
          room: name,
          moderator: conn.participantId,
          participant: participantId,
        },
        'security: lobby: admitted',
      );
      const result = await this.#roster.enter(
        participantId,
        { ...entry, verified: entry.verified ?? false },
        entry.region,
      );
      this.#presence.send(waiting, 'admitted', result);
      this.#presence.notifyLobby();
      return {};
    },

    refuse: async (conn, { participantId }) => {
      const { name, deps, state } = this.#ctx;
      moderator(state, conn);
      if (!state.leaveLobby(participantId))
        throw new TreffpunktError(ErrorCode.NotFound, 'nobody with that id waits in the lobby');
      deps.log.warn(
        {
          security: true,
          event: 'lobbyRefused',
          room: name,
          moderator: conn.participantId,
          participant: participantId,
        },
        'security: lobby: refused',
      );
      const waiting = this.#presence.connectionOf(participantId);
      if (waiting) {
        waiting.participantId = undefined;
        waiting.close(CloseCode.Refused, 'refused');
      }
      this.#presence.notifyLobby();
      return {};
    },
  };

  /** The identity a join claims: verified from a token (before the queue, see preVerify), or a guest by the deployment's policy. */
  #identify(
    token: string | undefined,
    name: string | undefined,
    claims: VerifiedJoin | undefined,
  ): { name: string; role: Role; media?: MediaConstraint; identity?: string } {
    const { verifier, guestPolicy } = this.#ctx.deps.access;
    if (token) {
      // Only when the socket had joined at preVerify's look and left before this turn (it is closing anyway).
      if (!claims) throw new TreffpunktError(ErrorCode.Unauthorized, 'the join token was not checked; send join again');
      const media = claims.media && {
        ...(claims.media.operators ? { operators: claims.media.operators } : {}),
        ...(claims.media.jurisdictions ? { jurisdictions: expandJurisdictions(claims.media.jurisdictions) } : {}),
      };
      return { name: claims.name, role: claims.role, identity: claims.identity, ...(media ? { media } : {}) };
    }
    if (!name) throw new TreffpunktError(ErrorCode.BadMessage, 'a name is required when joining without a token');
    if (verifier.enabled) {
      if (guestPolicy === 'deny') throw new TreffpunktError(ErrorCode.Unauthorized, 'this meeting needs a join token');
      return { name, role: 'guest' };
    }
    // An open deployment (no token issuers configured): whoever opens the room moderates it.
    return { name, role: this.#ctx.state.size === 0 ? 'moderator' : 'participant' };
  }

  /**
   * A token identity is used by one participant at a time (unless its issuer allows several sessions),
   * and not at all while a moderator's removal bars it. When its holder's socket is down (a reloaded
   * tab, a lost network), the new join takes over: the person is back, the stale participant leaves.
   * A holder that is still connected keeps its place: the newcomer gets ALREADY_IN_ROOM, so a leaked
   * token cannot push the rightful holder out (and the holder can still leave and come back).
   */
  async #claimIdentity(v: VerifiedJoin): Promise<void> {
    const { name, deps, state } = this.#ctx;
    const short = v.identity.slice(0, 12);
    if (state.isBarred(v.identity, Date.now())) {
      deps.log.warn(
        { security: true, event: 'barredRejoinRefused', room: name, identity: short },
        'a removed participant tried to join again',
      );
      throw new TreffpunktError(
        ErrorCode.RemovedFromRoom,
        'a moderator removed you from this meeting; you cannot join it again for now',
      );
    }
    if (v.multipleSessions) return;
    const holder = state.holderOf(v.identity);
    if (holder?.participant && holder.participant.disconnectedAt !== undefined) {
      deps.log.info(
        { room: name, participant: holder.participant.id },
        'a new join with the same token takes over a disconnected participant',
      );
      await this.#roster.remove(holder.participant.id);
    } else if (holder) {
      deps.log.warn(
        {
          security: true,
          event: 'identityInUse',
          room: name,
          identity: short,
          participant: holder.participant?.id ?? holder.waiting?.id,
        },
        'a join token already in use was refused',
      );
      throw new TreffpunktError(
        ErrorCode.AlreadyInRoom,
        'this invitation is already in use in this meeting (another tab or device?)',
      );
    }
  }

  /**
   * A guest may not take the name of a verified participant (in the room or waiting in the lobby): nobody
   * can join as "the moderator" by typing their name. Two guests may share a name; both show as guests.
   */
  #refuseVerifiedName(name: string): void {
    const key = nameKey(name);
    const verified = [...this.#ctx.state.participants.values(), ...this.#ctx.state.lobby.values()].some(
      (p) => p.verified === true && nameKey(p.name) === key,
    );
    if (verified)
      throw new TreffpunktError(
        ErrorCode.NameTaken,
        'someone with a verified identity in this meeting has that name; please choose another',
      );
  }
}
