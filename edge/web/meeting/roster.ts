/**
 * Who is in the room and what they send: participants with their producers (muted or not, scores),
 * raised hands, roles, the lock state and (for moderators) the lobby. Kept from the join result, the
 * room's events, and a resume result after a lost connection. No media here: the roster says when a
 * producer appears or goes, and the media session receives or drops it (hooks).
 */
import type { MediaSource } from '../../../shared/media-types.ts';
import type { JoinResult, ParticipantInfo, Role } from '../../../shared/signaling.ts';
import type { Signaling } from '../signaling.ts';
import type { LobbyEntry, MeetingCallbacks, Participant } from './types.ts';

/** What the media side does when the roster changes. */
export interface RosterHooks {
  /** Someone else started sending: receive it. */
  producerAdded(participantId: string, producerId: string, source: MediaSource): void;
  /** A producer of someone else ended: stop receiving it. */
  producerGone(producerId: string): void;
  /** Someone left: stop receiving anything of theirs. */
  participantGone(participantId: string): void;
}

export function fromInfo(p: ParticipantInfo): Participant {
  return {
    id: p.id,
    name: p.name,
    verified: p.verified,
    self: false,
    role: p.role,
    handRaised: p.handRaised,
    joinedAt: Date.now(),
    producers: new Map(p.producers.map((x) => [x.id, { ...x, since: Date.now() }])),
  };
}

export class Roster {
  /** Everyone in the room, this participant included (self: true). */
  readonly participants = new Map<string, Participant>();
  #selfId: string;
  /** Our role in the room (moderators see the moderation controls; the edge checks every action). */
  role: Role;
  locked: boolean;
  /** Who waits in the lobby (known to moderators only). */
  lobby: LobbyEntry[] = [];
  readonly #cb: MeetingCallbacks;
  readonly #hooks: RosterHooks;

  constructor(joined: JoinResult, name: string, verified: boolean, cb: MeetingCallbacks, hooks: RosterHooks) {
    this.#selfId = joined.participantId;
    this.role = joined.role;
    this.locked = joined.locked;
    this.#cb = cb;
    this.#hooks = hooks;
    this.participants.set(joined.participantId, {
      id: joined.participantId,
      name,
      verified,
      self: true,
      role: joined.role,
      handRaised: false,
      joinedAt: Date.now(),
      producers: new Map(),
    });
    for (const p of joined.participants) this.participants.set(p.id, fromInfo(p));
  }

  get selfId(): string {
    return this.#selfId;
  }

  get self(): Participant {
    return this.participants.get(this.#selfId)!;
  }

  /**
   * After we joined again (the room had forgotten us): we are the same person under a new id, with
   * nothing sent yet and our hand down; the others are who the room has now (those who come back
   * after us arrive as participantJoined).
   */
  rejoined(result: JoinResult): void {
    const self = this.self;
    this.participants.delete(this.#selfId);
    this.#selfId = self.id = result.participantId;
    self.handRaised = false;
    self.producers.clear();
    this.participants.set(self.id, self);
    this.reconcile(result);
  }

  listen(s: Signaling): void {
    s.on('participantJoined', ({ participant }) => {
      if (this.participants.has(participant.id)) return;
      this.#add(fromInfo(participant));
    });
    s.on('participantLeft', ({ participantId }) => this.#remove(participantId));
    s.on('producerAdded', ({ participantId, producerId, kind, source }) => {
      const p = this.participants.get(participantId);
      if (!p || p.self) return;
      p.producers.set(producerId, { id: producerId, kind, source, paused: false, since: Date.now() });
      this.#cb.changed?.(p);
      this.#hooks.producerAdded(participantId, producerId, source);
    });
    s.on('producerClosed', ({ participantId, producerId }) => {
      const p = this.participants.get(participantId);
      if (p?.self) return;
      p?.producers.delete(producerId);
      this.#hooks.producerGone(producerId);
      if (p) this.#cb.changed?.(p);
    });
    s.on('producerPaused', ({ participantId, producerId, paused }) => {
      const p = this.participants.get(participantId);
      const prod = p?.producers.get(producerId);
      if (!p || !prod || p.self) return;
      prod.paused = paused;
      this.#cb.changed?.(p);
    });
    s.on('producerScore', ({ participantId, producerId, score }) => {
      const p = this.participants.get(participantId);
      const prod = p?.producers.get(producerId);
      if (!p || !prod) return;
      prod.score = score;
      this.#cb.changed?.(p);
    });
    s.on('handChanged', ({ participantId, raised }) => {
      const p = this.participants.get(participantId);
      if (!p || p.handRaised === raised) return;
      p.handRaised = raised;
      this.#cb.handChanged?.(p, raised);
      this.#cb.changed?.(p);
    });
    s.on('lobbyChanged', ({ waiting }) => {
      this.lobby = waiting;
      this.#cb.lobby?.(waiting);
    });
    s.on('roomLocked', ({ locked }) => {
      this.locked = locked;
      this.#cb.roomLocked?.(locked);
    });
  }

  /**
   * Brings the roster in line with a resume result: who left or came while we were away, what they send
   * now, muted or not, hands. (Our own producers are the media session's: MediaSession.resumed.)
   */
  reconcile(result: JoinResult): void {
    this.role = result.role;
    this.self.role = result.role;
    if (this.locked !== result.locked) {
      this.locked = result.locked;
      this.#cb.roomLocked?.(result.locked);
    }
    const now = new Map(result.participants.map((p) => [p.id, p]));
    for (const p of [...this.participants.values()]) if (!p.self && !now.has(p.id)) this.#remove(p.id);
    for (const info of result.participants) {
      const p = this.participants.get(info.id);
      if (!p) {
        this.#add(fromInfo(info));
        continue;
      }
      p.name = info.name;
      p.role = info.role;
      const ids = new Set(info.producers.map((x) => x.id));
      for (const id of [...p.producers.keys()]) {
        if (ids.has(id)) continue;
        p.producers.delete(id);
        this.#hooks.producerGone(id);
      }
      for (const x of info.producers) {
        const known = p.producers.get(x.id);
        if (known) known.paused = x.paused;
        else p.producers.set(x.id, { ...x, since: Date.now() });
      }
      if (p.handRaised !== info.handRaised) {
        p.handRaised = info.handRaised;
        this.#cb.handChanged?.(p, info.handRaised);
      }
      this.#cb.changed?.(p);
    }
  }

  /** Everyone else's producers, audio first: the room answers requests in order, and hearing each other matters most. */
  remoteProducers(): { participantId: string; producerId: string; source: MediaSource }[] {
    const out: { participantId: string; producerId: string; source: MediaSource }[] = [];
    for (const p of this.participants.values()) {
      if (p.self) continue;
      for (const prod of p.producers.values())
        out.push({ participantId: p.id, producerId: prod.id, source: prod.source });
    }
    return out.sort((a, b) => Number(a.source !== 'microphone') - Number(b.source !== 'microphone'));
  }

  #add(p: Participant): void {
    this.participants.set(p.id, p);
    this.#cb.joined?.(p);
  }

  #remove(participantId: string): void {
    const p = this.participants.get(participantId);
    if (!p || p.self) return;
    this.participants.delete(participantId);
    this.#hooks.participantGone(participantId);
    this.#cb.left?.(p);
  }
}
