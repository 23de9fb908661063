/**
 * A room's state and its transitions, free of I/O so that they can be tested alone and persisted
 * (Durable Object storage, memory on Node). Each participant carries the media node it uses, so that a
 * room can span nodes without a redesign.
 *
 * RoomState owns its changes: the rest of the room reads participants, producers and the lobby through
 * read-only views and changes them only through the methods below, each named for what happens in the
 * meeting. What is saved (toSnapshot) is everything here, so a cold start (see room.ts) loses nothing.
 */
import { ErrorCode, TreffpunktError } from '../../../shared/errors.ts';
import type { ParticipantInfo } from '../../../shared/signaling.ts';
import { sameConstraint, type MediaConstraint } from '../media-constraint.ts';
import {
  participantInfo,
  type Direction,
  type LobbyEntry,
  type MissedEvent,
  type NewParticipant,
  type Participant,
  type ParticipantState,
  type Producer,
  type ProducerState,
} from './participant.ts';
import { AppliedRequests } from './applied-requests.ts';
import { RoomRouters } from './routers.ts';
import type { SavedRoomSnapshot } from './store.ts';

/**
 * A move off a draining node, make-before-break: the moved participants build their media on new nodes
 * while their old media still flows on `nodeId`. The old producers have left the room's state (nobody
 * new consumes them) but live on there until the handover ends: when every moved participant said
 * mediaMoveDone, or at `deadline`.
 */
export interface Handover {
  nodeId: string;
  /** ms since the epoch. */
  deadline: number;
  /** Everyone moved off the node (told oldMediaClosed at the end). */
  moved: string[];
  /** Moved participants that have not said mediaMoveDone yet. */
  waiting: string[];
  /** The old producers, each with its owner (the others are told producerClosed at the end). */
  producers: { participantId: string; producerId: string }[];
}

export class RoomState {
  readonly name: string;
  readonly capacity: number;
  /** The room's routers on media nodes: their capabilities, the pipes between them, nodes left behind. */
  readonly routers = new RoomRouters();
  /** The requests of cluster sockets applied lately: a request sent again after a step-down is applied once. */
  readonly applied = new AppliedRequests();
  readonly #participants = new Map<string, ParticipantState>();
  readonly #lobby = new Map<string, LobbyEntry>();
  #locked = false;
  /** The room's own media constraint (from the first join token with a `media` claim), if any. */
  #constraint: MediaConstraint | undefined;
  /** Token identities a moderator removed, and until when (ms since the epoch) they may not join again. */
  readonly #barred = new Map<string, number>();
  /** Draining nodes being handed over from, by node id. */
  readonly #handovers = new Map<string, Handover>();

  constructor(name: string, capacity: number) {
    this.name = name;
    this.capacity = capacity;
  }

  get size(): number {
    return this.#participants.size;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  get lobby(): ReadonlyMap<string, LobbyEntry> {
    return this.#lobby;
  }

  get locked(): boolean {
    return this.#locked;
  }

  get constraint(): MediaConstraint | undefined {
    return this.#constraint;
  }

  get barred(): ReadonlyMap<string, number> {
    return this.#barred;
  }

  /** Nothing to save: nobody in the room or its lobby, and no removal bar still running. */
  nothingToKeep(now: number): boolean {
    return this.size === 0 && this.#lobby.size === 0 && this.pruneBars(now) === Infinity;
  }

  /** Media nodes that carry at least one participant of this room. */
  nodeIds(): string[] {
    return [...new Set([...this.#participants.values()].map((p) => p.nodeId).filter(Boolean))];
  }

  hasModerator(): boolean {
    for (const p of this.#participants.values()) if (p.role === 'moderator') return true;
    return false;
  }

  participant(id: string): Participant {
    return this.#participant(id);
  }

  addParticipant(p: NewParticipant): Participant {
    if (this.#participants.size >= this.capacity) {
      throw new TreffpunktError(ErrorCode.RoomFull, `room is full (${this.capacity} participants)`);
    }
    if (this.#participants.has(p.id)) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'participant already joined');
    const state: ParticipantState = {
      ...p,
      handRaised: false,
      transports: new Map(),
      producers: new Map(),
      consumers: new Map(),
    };
    this.#participants.set(p.id, state);
    this.routers.reclaim(p.nodeId);
    return state;
  }

  /** The participant leaves; an empty room forgets its media rules (the next meeting may bring others). */
  removeParticipant(id: string): Participant | undefined {
    const p = this.#participants.get(id);
    if (!p) return undefined;
    this.#participants.delete(id);
    this.#dropConsumersOf(p.producers.keys());
    for (const h of this.#handovers.values()) h.waiting = h.waiting.filter((w) => w !== id);
    if (this.size === 0) this.#constraint = undefined;
    return p;
  }

  /** The participant's socket dropped at `at`: it may resume within the grace period. */
  disconnected(id: string, at: number): void {
    this.#participant(id).disconnectedAt = at;
  }

  /** The participant is back on a new socket, with a new resume token (only its hash is kept). */
  resumed(id: string, resumeHash: string): void {
    const p = this.#participant(id);
    p.disconnectedAt = undefined;
    p.resumeHash = resumeHash;
  }

  /** Keeps an event for a participant whose socket is down; only the last `kept` are kept. */
  keepMissed(id: string, missed: MissedEvent, kept: number): void {
    const p = this.#participant(id);
    p.missed = [...(p.missed ?? []), missed].slice(-kept);
  }

  /** The events kept for a participant, forgotten on the way (they are about to be sent). */
  takeMissed(id: string): readonly MissedEvent[] {
    const p = this.#participant(id);
    const missed = p.missed ?? [];
    p.missed = undefined;
    return missed;
  }

  setHand(id: string, raised: boolean): void {
    this.#participant(id).handRaised = raised;
  }

  /** Who in the room or its lobby uses this token identity. */
  holderOf(identity: string): { participant?: Participant; waiting?: LobbyEntry } | undefined {
    for (const p of this.#participants.values()) if (p.identity === identity) return { participant: p };
    for (const e of this.#lobby.values()) if (e.identity === identity) return { waiting: e };
    return undefined;
  }

  addTransport(participantId: string, transportId: string, direction: Direction): void {
    this.#participant(participantId).transports.set(transportId, direction);
  }

  /** Throws NOT_FOUND unless the transport is the participant's (and of the given direction). */
  requireTransport(participantId: string, transportId: string, direction?: Direction): void {
    const dir = this.#participant(participantId).transports.get(transportId);
    if (!dir || (direction && dir !== direction)) {
      throw new TreffpunktError(
        ErrorCode.NotFound,
        `no ${direction ?? ''} transport ${transportId} of yours`.replace('  ', ' '),
      );
    }
  }

  addProducer(participantId: string, producerId: string, producer: Omit<ProducerState, 'pipedTo'>): void {
    this.#participant(participantId).producers.set(producerId, { ...producer });
  }

  /** The participant's own producer; NOT_FOUND for anyone else's. */
  ownProducer(participantId: string, producerId: string): Producer {
    return this.#ownProducer(participantId, producerId);
  }

  setProducerPaused(participantId: string, producerId: string, paused: boolean): void {
    this.#ownProducer(participantId, producerId).paused = paused;
  }

  /** Remembers that a producer is now piped to another node (ensurePiped, pipes.ts). */
  pipedTo(producerId: string, nodeId: string): void {
    const producer = this.#owner(producerId).producers.get(producerId)!;
    producer.pipedTo = [...(producer.pipedTo ?? []), nodeId];
  }

  removeProducer(participantId: string, producerId: string): void {
    const p = this.#participant(participantId);
    if (!p.producers.delete(producerId))
      throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} of yours`);
    this.#dropConsumersOf([producerId]);
  }

  /** Whether a producer of this room is still open (a lane checks after its awaits; see media.ts). */
  hasProducer(producerId: string): boolean {
    for (const p of this.#participants.values()) if (p.producers.has(producerId)) return true;
    return false;
  }

  /** The participant who owns a producer of this room. */
  producerOwner(producerId: string): Participant {
    return this.#owner(producerId);
  }

  addConsumer(participantId: string, consumerId: string, producerId: string): void {
    this.#participant(participantId).consumers.set(consumerId, producerId);
  }

  /** The participant's consumer of a producer, if it has one. */
  consumerOf(participantId: string, producerId: string): string | undefined {
    for (const [consumerId, of] of this.#participant(participantId).consumers) if (of === producerId) return consumerId;
    return undefined;
  }

  /** A consumer replaced by a new one of the same producer (see the consume handler). */
  removeConsumer(participantId: string, consumerId: string): void {
    this.#participant(participantId).consumers.delete(consumerId);
  }

  requireConsumer(participantId: string, consumerId: string): void {
    if (!this.#participant(participantId).consumers.has(consumerId)) {
      throw new TreffpunktError(ErrorCode.NotFound, `no consumer ${consumerId} of yours`);
    }
  }

  /**
   * The participant's media node is gone: its transports, producers and consumers went with it, and
   * everyone's consumers of those producers too. Returns the producers that closed.
   */
  loseMedia(participantId: string): string[] {
    const p = this.#participant(participantId);
    const closed = [...p.producers.keys()];
    this.#dropConsumersOf(closed);
    p.producers.clear();
    p.transports.clear();
    p.consumers.clear();
    return closed;
  }

  /** Starts handing the room over from a draining node (see Handover). */
  startHandover(handover: Handover): void {
    this.#handovers.set(handover.nodeId, { ...handover });
  }

  handover(nodeId: string): Readonly<Handover> | undefined {
    return this.#handovers.get(nodeId);
  }

  handovers(): readonly Readonly<Handover>[] {
    return [...this.#handovers.values()];
  }

  /** The participant's new media is up: the node ids of the handovers that now wait for nobody. */
  handoverDone(participantId: string): string[] {
    const complete: string[] = [];
    for (const h of this.#handovers.values()) {
      if (!h.waiting.includes(participantId)) continue;
      h.waiting = h.waiting.filter((w) => w !== participantId);
      if (h.waiting.length === 0) complete.push(h.nodeId);
    }
    return complete;
  }

  /** The handover from `nodeId` is over (the room closes itself there); returns it. */
  endHandover(nodeId: string): Handover | undefined {
    const h = this.#handovers.get(nodeId);
    this.#handovers.delete(nodeId);
    return h;
  }

  /** The participant's media now goes to `nodeId`. */
  placeOn(participantId: string, nodeId: string): void {
    this.#participant(participantId).nodeId = nodeId;
    this.routers.reclaim(nodeId);
  }

  /** No node may carry the participant for now (mediaUnavailable); the sweep keeps trying. */
  withoutNode(participantId: string): void {
    this.#participant(participantId).nodeId = '';
  }

  /** Forgets the copies of every producer on a node the room leaves (its pipes are closed). */
  forgetCopiesOn(nodeId: string): void {
    for (const p of this.#participants.values()) {
      for (const producer of p.producers.values())
        if (producer.pipedTo) producer.pipedTo = producer.pipedTo.filter((n) => n !== nodeId);
    }
  }

  addToLobby(entry: LobbyEntry): void {
    this.#lobby.set(entry.id, entry);
  }

  /** Takes someone out of the lobby (admitted, refused, gone); false when they were not waiting. */
  leaveLobby(id: string): boolean {
    return this.#lobby.delete(id);
  }

  clearLobby(): void {
    this.#lobby.clear();
  }

  setLocked(locked: boolean): void {
    this.#locked = locked;
  }

  /**
   * A token's `media` claim: the first one into an empty room fixes where the room's media may go; a later
   * token naming other rules is refused, so that nobody can widen (or silently change) them mid-meeting.
   */
  adoptMediaClaim(media: MediaConstraint | undefined): void {
    if (!media) return;
    if (this.size === 0 && this.#lobby.size === 0 && !this.#constraint) {
      this.#constraint = media;
      return;
    }
    if (!sameConstraint(this.#constraint ?? {}, media)) {
      throw new TreffpunktError(
        ErrorCode.ConstraintUnmet,
        'your join token names other media rules (operators, jurisdictions) than this meeting has',
      );
    }
  }

  /** A moderator removed this token identity: it may not join again until `until` (ms since the epoch). */
  bar(identity: string, until: number): void {
    this.#barred.set(identity, until);
  }

  /** Whether `identity` is barred at `now`; bars that ran out are forgotten on the way. */
  isBarred(identity: string, now: number): boolean {
    this.pruneBars(now);
    return this.#barred.has(identity);
  }

  /** Forgets bars that ran out; returns when the next one runs out (Infinity: none left). */
  pruneBars(now: number): number {
    let next = Infinity;
    for (const [identity, until] of this.#barred) {
      if (until <= now) this.#barred.delete(identity);
      else next = Math.min(next, until);
    }
    return next;
  }

  /** Everyone but `exceptId`, as the newcomer sees them. */
  others(exceptId: string): ParticipantInfo[] {
    return [...this.#participants.values()].filter((p) => p.id !== exceptId).map(participantInfo);
  }

  /** Everything the room must not lose when its actor is evicted or restarted (RoomSnapshot is derived from it). */
  toSnapshot() {
    return {
      participants: [...this.#participants.values()].map((p) => ({
        ...p,
        transports: [...p.transports],
        producers: [...p.producers],
        consumers: [...p.consumers],
      })),
      lobby: [...this.#lobby.values()],
      locked: this.#locked,
      constraint: this.#constraint,
      barred: [...this.#barred],
      handovers: [...this.#handovers.values()],
      applied: this.applied.toSnapshot(),
      ...this.routers.toSnapshot(),
    };
  }

  /** Rebuilds a fresh state after a restart or eviction, as it was saved (by this version or an earlier one). */
  restore(snapshot: SavedRoomSnapshot): void {
    for (const p of snapshot.participants) {
      // Snapshots from before consumers were tied to producers list bare ids: their producer is unknown ('').
      const consumers = new Map(p.consumers.map((c) => (typeof c === 'string' ? [c, ''] : c)));
      this.#participants.set(p.id, {
        ...p,
        verified: p.verified ?? false,
        transports: new Map(p.transports),
        producers: new Map(p.producers),
        consumers,
      });
    }
    for (const entry of snapshot.lobby) this.#lobby.set(entry.id, entry);
    this.#locked = snapshot.locked;
    this.#constraint = snapshot.constraint;
    for (const [identity, until] of snapshot.barred ?? []) this.#barred.set(identity, until);
    for (const h of snapshot.handovers ?? []) this.#handovers.set(h.nodeId, { ...h });
    this.applied.restore(snapshot.applied ?? []);
    this.routers.restore(snapshot);
  }

  static fromSnapshot(name: string, capacity: number, snapshot: SavedRoomSnapshot): RoomState {
    const room = new RoomState(name, capacity);
    room.restore(snapshot);
    return room;
  }

  #participant(id: string): ParticipantState {
    const p = this.#participants.get(id);
    if (!p) throw new TreffpunktError(ErrorCode.NotJoined, 'not joined');
    return p;
  }

  #ownProducer(participantId: string, producerId: string): ProducerState {
    const producer = this.#participant(participantId).producers.get(producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} of yours`);
    return producer;
  }

  #owner(producerId: string): ParticipantState {
    for (const p of this.#participants.values()) if (p.producers.has(producerId)) return p;
    throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} in this room`);
  }

  /**
   * Forgets everyone's consumers of these producers: the media node closed them with their producer, and
   * they must not count against anyone's consumer limit (TREFFPUNKT_MAX_CONSUMERS).
   */
  #dropConsumersOf(producerIds: Iterable<string>): void {
    const gone = new Set(producerIds);
    if (gone.size === 0) return;
    for (const p of this.#participants.values())
      for (const [consumerId, producerId] of p.consumers) if (gone.has(producerId)) p.consumers.delete(consumerId);
  }
}
