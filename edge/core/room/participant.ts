/**
 * A participant of a room as RoomState keeps it (ParticipantState, changed only by RoomState) and as the
 * rest of the room reads it (Participant, read-only), and how the others see it on the wire.
 */
import type { MediaKind, MediaSource } from '../../../shared/media-types.ts';
import type { ParticipantInfo, Role } from '../../../shared/signaling.ts';

export type Direction = 'send' | 'recv';

/** An event for one participant that came while its socket was down (see Presence.sendTo). */
export interface MissedEvent {
  event: string;
  data: unknown;
}

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
  missed?: MissedEvent[] | undefined;
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
  transports: Map<string, Direction>;
  producers: Map<string, ProducerState>;
  /** Consumer id → the producer it receives: one consumer per producer, dropped when the producer closes. */
  consumers: Map<string, string>;
}

/** A producer as the room reads it. */
export type Producer = Readonly<Omit<ProducerState, 'pipedTo'>> & { readonly pipedTo?: readonly string[] | undefined };

/** A participant as the room reads it; RoomState's methods change it. */
export type Participant = Readonly<Omit<ParticipantState, 'missed' | 'transports' | 'producers' | 'consumers'>> & {
  readonly missed?: readonly MissedEvent[] | undefined;
  readonly transports: ReadonlyMap<string, Direction>;
  readonly producers: ReadonlyMap<string, Producer>;
  readonly consumers: ReadonlyMap<string, string>;
};

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

export type NewParticipant = Pick<
  ParticipantState,
  'id' | 'name' | 'verified' | 'nodeId' | 'region' | 'joinedAt' | 'role' | 'resumeHash' | 'identity'
>;

/** A participant as the others see it (join result, participantJoined). */
export function participantInfo(p: Participant): ParticipantInfo {
  return {
    id: p.id,
    name: p.name,
    verified: p.verified,
    role: p.role,
    handRaised: p.handRaised,
    producers: [...p.producers].map(([id, prod]) => ({
      id,
      kind: prod.kind,
      source: prod.source,
      paused: prod.paused,
    })),
  };
}
