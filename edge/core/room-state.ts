/**
 * A room's state and its transitions, free of I/O so that they can be tested alone and persisted later
 * (Durable Object storage, SQLite on Node). Each participant carries the media node it uses, so that a
 * room can span nodes without a redesign.
 */
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import type { MediaKind, MediaSource } from '../../shared/media-types.ts';
import type { ParticipantInfo, Role } from '../../shared/signaling.ts';
import type { ParticipantSnapshot } from './room-store.ts';
import type { MediaConstraint } from './media-constraint.ts';

export interface ProducerState {
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
  /** Other media nodes this producer is piped to (each at most once, whoever consumes it there). */
  pipedTo?: string[];
}

export interface ParticipantState {
  id: string;
  name: string;
  /** The participant's media node; '' while none may carry it (mediaUnavailable was sent). */
  nodeId: string;
  /** The region hint given at join, used again when the participant must move to another node. */
  region?: string | undefined;
  /**
   * Events for this participant alone that came while its socket was down (mediaMoved, mutedByModerator,
   * …): sent right after its `resume` reply, so a resumed client misses nothing that concerns only it.
   */
  missed?: { event: string; data: unknown }[] | undefined;
  joinedAt: number;
  role: Role;
  /** The name comes from a join token, not typed by the participant (ParticipantInfo.verified). */
  verified: boolean;
  handRaised: boolean;
  /** SHA-256 of the resume token (base64url); the token itself is never stored. */
  resumeHash: string;
  /** The join token's pseudonymous identity (VerifiedJoin.identity); undefined for guests without a token. */
  identity?: string | undefined;
  /** When the socket dropped; undefined while connected. Removed after the grace period. */
  disconnectedAt?: number | undefined;
  transports: Map<string, 'send' | 'recv'>;
  producers: Map<string, ProducerState>;
  /** Consumer id → the producer it receives: one consumer per producer, dropped when the producer closes. */
  consumers: Map<string, string>;
}

/** Someone waiting for a moderator to let them in. */
export interface LobbyEntry {
  id: string;
  name: string;
  role: Role;
  verified?: boolean | undefined;
  since: number;
  region?: string | undefined;
  identity?: string | undefined;
}

export class RoomState {
  readonly name: string;
  readonly capacity: number;
  readonly participants = new Map<string, ParticipantState>();
  readonly lobby = new Map<string, LobbyEntry>();
  locked = false;
  /** Node pairs ("a|b", sorted) whose PipeTransports for this room are connected. */
  readonly links = new Set<string>();
  /** The room's own media constraint (from the first join token with a `media` claim), if any. */
  constraint: MediaConstraint | undefined;
  /** Nodes this room left while they were unreachable: told to close the room when they are back. */
  readonly abandoned = new Set<string>();
  /** Token identities a moderator removed, and until when (ms since the epoch) they may not join again. */
  readonly barred = new Map<string, number>();

  constructor(name: string, capacity: number) {
    this.name = name;
    this.capacity = capacity;
  }

  get size(): number {
    return this.participants.size;
  }

  /** Media nodes that carry at least one participant of this room. */
  nodeIds(): string[] {
    return [...new Set([...this.participants.values()].map((p) => p.nodeId).filter(Boolean))];
  }

  hasModerator(): boolean {
    for (const p of this.participants.values()) if (p.role === 'moderator') return true;
    return false;
  }

  /** Whether `identity` is barred at `now`; bars that ran out are forgotten on the way. */
  isBarred(identity: string, now: number): boolean {
    this.pruneBars(now);
    return this.barred.has(identity);
  }

  /** Forgets bars that ran out; returns when the next one runs out (Infinity: none left). */
  pruneBars(now: number): number {
    let next = Infinity;
    for (const [identity, until] of this.barred) {
      if (until <= now) this.barred.delete(identity);
      else next = Math.min(next, until);
    }
    return next;
  }

  /** Who in the room or its lobby uses this token identity. */
  holderOf(identity: string): { participant?: ParticipantState; waiting?: LobbyEntry } | undefined {
    for (const p of this.participants.values()) if (p.identity === identity) return { participant: p };
    for (const e of this.lobby.values()) if (e.identity === identity) return { waiting: e };
    return undefined;
  }

  addParticipant(p: { id: string; name: string; verified: boolean; nodeId: string; region?: string | undefined; joinedAt: number; role: Role; resumeHash: string; identity?: string | undefined }): ParticipantState {
    if (this.participants.size >= this.capacity) {
      throw new TreffpunktError(ErrorCode.RoomFull, `room is full (${this.capacity} participants)`);
    }
    if (this.participants.has(p.id)) throw new TreffpunktError(ErrorCode.AlreadyJoined, 'participant already joined');
    const state: ParticipantState = { ...p, handRaised: false, transports: new Map(), producers: new Map(), consumers: new Map() };
    this.participants.set(p.id, state);
    return state;
  }

  removeParticipant(id: string): ParticipantState | undefined {
    const p = this.participants.get(id);
    this.participants.delete(id);
    if (p) this.dropConsumersOf(p.producers.keys());
    return p;
  }

  participant(id: string): ParticipantState {
    const p = this.participants.get(id);
    if (!p) throw new TreffpunktError(ErrorCode.NotJoined, 'not joined');
    return p;
  }

  addTransport(participantId: string, transportId: string, direction: 'send' | 'recv'): void {
    this.participant(participantId).transports.set(transportId, direction);
  }

  /** Throws NOT_FOUND unless the transport is the participant's (and of the given direction). */
  requireTransport(participantId: string, transportId: string, direction?: 'send' | 'recv'): void {
    const dir = this.participant(participantId).transports.get(transportId);
    if (!dir || (direction && dir !== direction)) {
      throw new TreffpunktError(ErrorCode.NotFound, `no ${direction ?? ''} transport ${transportId} of yours`.replace('  ', ' '));
    }
  }

  addProducer(participantId: string, producerId: string, producer: ProducerState): void {
    this.participant(participantId).producers.set(producerId, producer);
  }

  /** The participant's own producer; NOT_FOUND for anyone else's. */
  ownProducer(participantId: string, producerId: string): ProducerState {
    const producer = this.participant(participantId).producers.get(producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} of yours`);
    return producer;
  }

  removeProducer(participantId: string, producerId: string): void {
    const p = this.participant(participantId);
    if (!p.producers.delete(producerId)) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} of yours`);
    this.dropConsumersOf([producerId]);
  }

  /**
   * Forgets everyone's consumers of these producers: the media node closed them with their producer, and
   * they must not count against anyone's consumer limit (TREFFPUNKT_MAX_CONSUMERS).
   */
  dropConsumersOf(producerIds: Iterable<string>): void {
    const gone = new Set(producerIds);
    if (gone.size === 0) return;
    for (const p of this.participants.values()) for (const [consumerId, producerId] of p.consumers) if (gone.has(producerId)) p.consumers.delete(consumerId);
  }

  /** The participant who owns a producer of this room. */
  producerOwner(producerId: string): ParticipantState {
    for (const p of this.participants.values()) if (p.producers.has(producerId)) return p;
    throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId} in this room`);
  }

  addConsumer(participantId: string, consumerId: string, producerId: string): void {
    this.participant(participantId).consumers.set(consumerId, producerId);
  }

  /** The participant's consumer of a producer, if it has one. */
  consumerOf(participantId: string, producerId: string): string | undefined {
    for (const [consumerId, of] of this.participant(participantId).consumers) if (of === producerId) return consumerId;
    return undefined;
  }

  requireConsumer(participantId: string, consumerId: string): void {
    if (!this.participant(participantId).consumers.has(consumerId)) {
      throw new TreffpunktError(ErrorCode.NotFound, `no consumer ${consumerId} of yours`);
    }
  }

  toSnapshot(): ParticipantSnapshot[] {
    return [...this.participants.values()].map((p) => ({
      id: p.id,
      name: p.name,
      nodeId: p.nodeId,
      region: p.region,
      missed: p.missed,
      joinedAt: p.joinedAt,
      role: p.role,
      verified: p.verified,
      handRaised: p.handRaised,
      resumeHash: p.resumeHash,
      identity: p.identity,
      disconnectedAt: p.disconnectedAt,
      transports: [...p.transports],
      producers: [...p.producers],
      consumers: [...p.consumers],
    }));
  }

  /** Rebuilds the state after a restart or eviction, as it was saved. */
  static fromSnapshot(name: string, capacity: number, participants: ParticipantSnapshot[]): RoomState {
    const room = new RoomState(name, capacity);
    for (const p of participants) {
      // Snapshots from before consumers were tied to producers list bare ids: their producer is unknown ('').
      const consumers = new Map(p.consumers.map((c) => (typeof c === 'string' ? [c, ''] : c)));
      room.participants.set(p.id, { ...p, verified: p.verified ?? false, transports: new Map(p.transports), producers: new Map(p.producers), consumers });
    }
    return room;
  }

  info(p: ParticipantState): ParticipantInfo {
    return {
      id: p.id,
      name: p.name,
      verified: p.verified,
      role: p.role,
      handRaised: p.handRaised,
      producers: [...p.producers].map(([id, prod]) => ({ id, kind: prod.kind, source: prod.source, paused: prod.paused })),
    };
  }

  /** Everyone but `exceptId`, as the newcomer sees them. */
  others(exceptId: string): ParticipantInfo[] {
    return [...this.participants.values()].filter((p) => p.id !== exceptId).map((p) => this.info(p));
  }
}
