/**
 * Where a room keeps what it must not lose when its actor is evicted or restarted: the participants with
 * their media node, transports, producers and consumers, and the router capabilities per node. A Durable
 * Object writes it to its SQLite-backed storage; the Node edge keeps it in memory (its rooms live as long
 * as the process).
 */
import type { RtpCapabilities } from '../../shared/media-types.ts';
import type { Role } from '../../shared/signaling.ts';
import type { LobbyEntry, ProducerState } from './room-state.ts';
import type { MediaConstraint } from './media-constraint.ts';

export interface ParticipantSnapshot {
  id: string;
  name: string;
  nodeId: string;
  region?: string | undefined;
  missed?: { event: string; data: unknown }[] | undefined;
  joinedAt: number;
  role: Role;
  /** Absent in snapshots from before names were marked verified: false. */
  verified?: boolean | undefined;
  handRaised: boolean;
  resumeHash: string;
  identity?: string | undefined;
  disconnectedAt?: number | undefined;
  transports: [string, 'send' | 'recv'][];
  producers: [string, ProducerState][];
  /** [consumerId, producerId]; a bare id in snapshots from before consumers were tied to producers. */
  consumers: ([string, string] | string)[];
}

export interface RoomSnapshot {
  participants: ParticipantSnapshot[];
  lobby: LobbyEntry[];
  locked: boolean;
  routerCaps: [string, RtpCapabilities][];
  /** Connected node pairs of the room's pipes; absent in snapshots from before rooms spanned nodes. */
  links?: string[];
  abandoned?: string[];
  constraint?: MediaConstraint | undefined;
  /** Barred token identities (pseudonymous hashes) and until when; absent in snapshots from before bars. */
  barred?: [string, number][];
}

export interface RoomStore {
  load(): Promise<RoomSnapshot | undefined>;
  /** Saves the snapshot; `undefined` deletes it (the room is empty). */
  save(snapshot: RoomSnapshot | undefined): Promise<void>;
}

export class MemoryRoomStore implements RoomStore {
  #snapshot: RoomSnapshot | undefined;

  async load(): Promise<RoomSnapshot | undefined> {
    return this.#snapshot;
  }

  async save(snapshot: RoomSnapshot | undefined): Promise<void> {
    this.#snapshot = snapshot;
  }
}
