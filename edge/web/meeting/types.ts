/**
 * What the meeting tells the UI, and the shapes it hands over: participants, chat messages, lobby
 * entries. No logic here; the parts in this folder fill them in.
 */
import type { IcePath } from './media-paths.ts';
import type { MediaKind, MediaSource } from '../../../shared/media-types.ts';
import type { EventData, Method, Params, Result, Role } from '../../../shared/signaling.ts';
import type { Meeting } from './meeting.ts';
import type { Roster } from './roster.ts';

export interface ProducerState {
  id: string;
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
  /** The SFU's view of the send quality, 0-10 (producerScore), once known. */
  score?: number;
  /** When we learnt of it: a new producer scores 0 until the SFU's first receive report. */
  since: number;
}

export interface Participant {
  id: string;
  name: string;
  /** The name comes from a join token (the server says so); a typed name is not verified. */
  verified: boolean;
  self: boolean;
  role: Role;
  handRaised: boolean;
  joinedAt: number;
  producers: Map<string, ProducerState>;
}

export interface ChatMessage {
  participantId: string;
  name: string;
  /** The sender's name is verified (looked up when the message arrives). */
  verified: boolean;
  text: string;
  time: number;
  self: boolean;
}

export interface LobbyEntry {
  id: string;
  name: string;
  verified: boolean;
}

/** How to join: a display name (for a guest or an open deployment) or a join token, and a region hint. */
export interface JoinOptions {
  /** Our own name as shown here; sent only without a token (the token's name wins on the server). */
  name: string;
  token?: string;
  region?: string;
}

export interface MeetingCallbacks {
  /** The meeting object exists and listens (before transports are ready): events may follow at once. */
  created?(m: Meeting): void;
  /** The room has a lobby: we wait until a moderator admits us, or `cancel()`. */
  waiting?(cancel: () => void): void;
  joined?(p: Participant): void;
  left?(p: Participant): void;
  /** Anything about a participant changed: producers, mute states, hand, score. */
  changed?(p: Participant): void;
  handChanged?(p: Participant, raised: boolean): void;
  /** A remote track arrived (track) or went away (null). */
  track?(participantId: string, producerId: string, source: MediaSource, track: MediaStreamTrack | null): void;
  activeSpeaker?(participantId: string | null): void;
  chat?(m: ChatMessage): void;
  /** A moderator muted one of our sources (already paused here) or asks us to unmute one. */
  moderated?(kind: 'muted' | 'unmuteRequested', source: MediaSource): void;
  /** To moderators: who waits in the lobby now. */
  lobby?(waiting: LobbyEntry[]): void;
  roomLocked?(locked: boolean): void;
  /**
   * The media path changed: 'relay' (the direct path failed; a relayed pair is in use now), 'mediaFailed'
   * (even the relay failed: `tried` says what ICE tried), 'retrying' (the person asked to try again),
   * 'direct' (connected without the relay again). `paths`: every ICE path tried so far (media-paths.ts:
   * udp, tcp, turn-udp, turn-tcp, turn-tls), for data-media-tried.
   */
  notice?(kind: MediaPath, tried: readonly string[], paths: readonly IcePath[]): void;
  /** The room socket dropped and we are reconnecting ('reconnecting'), or we resumed ('connected'). */
  connection?(state: 'reconnecting' | 'connected'): void;
  /** No media node can carry our media now (the room keeps trying); cleared by mediaMoved. */
  mediaUnavailable?(code: EventData<'mediaUnavailable'>['code'] | null): void;
  /** Our media was moved to another node and is set up there again (the count of moves so far). */
  mediaMoved?(count: number): void;
  /**
   * The room had forgotten us (a refused resume) and we joined it again by ourselves, under a new id
   * (`formerId`: the one the UI knew us by); `connection('connected')` follows.
   */
  rejoined?(formerId: string): void;
  /** The room socket closed for good without us leaving; `code` tells why (shared CloseCode; 1006: lost). */
  disconnected?(code: number): void;
}

/** A request to the room that survives a socket loss (Connection.request): what the media parts are given. */
export type RoomRequest = <M extends Method>(method: M, params: Params<M>) => Promise<Result<M>>;

export type Direction = 'send' | 'recv';

/** How our media flows, as far as the person is told. */
export type MediaPath = 'direct' | 'relay' | 'mediaFailed' | 'retrying';

/** What every media part works with: the room, the roster, the UI's callbacks and whether the meeting is over. */
export interface MediaContext {
  readonly request: RoomRequest;
  readonly roster: Roster;
  readonly cb: MeetingCallbacks;
  closed(): boolean;
}
