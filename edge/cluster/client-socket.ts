/**
 * A participant's WebSocket on this edge in cluster mode, whichever edge runs its room (issue 12). While
 * this edge owns the room the socket is an ordinary local Connection of the Room; otherwise its frames
 * wait in `outbox` and go to the owner in order, one acked request at a time (so that nothing overtakes,
 * and a frame the owner did not take stays queued for the next owner).
 *
 * Every request handed on to a room (local or remote) is kept until its reply passes back through here.
 * When the room's owner changes first (it stepped down, was killed, or handed the room over), the requests
 * still unanswered go back to the front of the outbox, marked as sent again: the next owner answers each
 * of them, applying it only if the room's snapshot does not record it as applied (applied-requests.ts).
 * A second reply to one request (the old owner's, late) is not passed on: the client gets exactly one.
 */
import { nuid } from '@nats-io/transport-node';
import type { Connection } from '../core/connection.ts';
import type { SocketEnds } from '../node/room-host.ts';
import { RelayInbox } from './relay-inbox.ts';
import type { SaveGate } from './save-gate.ts';

/** The end of a socket's outbox: the socket closed (the owner must be told). */
export const CLOSED = Symbol('closed');
/** A request sent again to the room's next owner: handed on before, and not answered. */
export interface ResentFrame {
  readonly resent: string;
}
export type OutboxItem = string | ArrayBuffer | ResentFrame | typeof CLOSED;

export function isResent(item: OutboxItem): item is ResentFrame {
  return typeof item === 'object' && 'resent' in item;
}

/** What a remote owner sends for the socket, in the order it sent it (relay-inbox.ts). */
export type OwnerFrame =
  | { kind: 'frame'; data: string; participant: string | undefined }
  | { kind: 'close'; code: number; reason: string };

/** Frames one socket may have waiting while its room finds an owner; a flood beyond that is closed. */
export const MAX_WAITING_FRAMES = 256;
/** Replies remembered per socket to refuse a second one (more than a client has in flight at once). */
const ANSWERED_KEPT = 64;
/** Frames longer than this are not read for their request id (the room refuses them long before). */
const MAX_TRACKED_FRAME = 256 * 1024;

export class ClientSocket {
  /** This edge's id for the socket, in relay messages (unique across the cluster with the edge id). */
  readonly id = nuid.next();
  readonly ends: SocketEnds;
  readonly addressKey: string | undefined;
  /** Who the socket joined as, as last known: kept across owners, for a re-attach. */
  participantId: string | undefined;
  readonly outbox: OutboxItem[] = [];
  /** The current remote owner knows this socket (an `open` went through). */
  attached = false;
  /** Its Connection in the Room, while this edge runs the room. */
  local: Connection | undefined;
  pumping = false;
  /** The remote owner's numbered frames for the socket, delivered once and in order. */
  readonly inbox = new RelayInbox<OwnerFrame>();
  /** Requests handed on to the room and not answered yet: request id → frame, in the order sent. */
  readonly #unanswered = new Map<number, string>();
  /** Ids of the requests answered lately, oldest first. */
  readonly #answered = new Set<number>();

  constructor(ends: SocketEnds, addressKey: string | undefined) {
    this.ends = ends;
    this.addressKey = addressKey;
  }

  /**
   * The frame goes to the room now (local) or to the remote owner: it is kept until it is answered. False
   * for a frame sent again (`resent`) whose reply came meanwhile after all: it is not to be sent.
   */
  handedOn(frame: string | ArrayBuffer, resent = false): boolean {
    const id = typeof frame === 'string' ? requestIdOf(frame) : undefined;
    if (id === undefined) return true;
    if (resent && this.#answered.has(id)) return false;
    this.#unanswered.set(id, frame as string);
    this.#answered.delete(id);
    return true;
  }

  /** The remote owner refused the frame (not the owner, or it does not know the socket): it stays queued. */
  notTaken(frame: string | ArrayBuffer): void {
    const id = typeof frame === 'string' ? requestIdOf(frame) : undefined;
    if (id !== undefined && this.#unanswered.get(id) === frame) this.#unanswered.delete(id);
  }

  /** Requests handed on and not answered yet (tests). */
  get unanswered(): number {
    return this.#unanswered.size;
  }

  /** Takes the item off the outbox, wherever it is now (a requeue may have moved it). */
  remove(item: OutboxItem): void {
    const i = this.outbox.indexOf(item);
    if (i >= 0) this.outbox.splice(i, 1);
  }

  /**
   * The room's owner changed before these requests were answered: they go first, marked as sent again,
   * ahead of what waits in the outbox (they were sent before it). Idempotent.
   */
  requeueUnanswered(): void {
    if (this.#unanswered.size === 0) return;
    const again = [...this.#unanswered.values()];
    this.#unanswered.clear();
    const frames = new Set(again);
    const rest = this.outbox.filter((i) => !frames.has((isResent(i) ? i.resent : i) as string));
    this.outbox.splice(0, this.outbox.length, ...again.map((resent) => ({ resent })), ...rest);
  }

  /** A frame from the room for the client; a second reply to one request is dropped. */
  deliver(data: string): void {
    const id = replyIdOf(data);
    if (id !== undefined) {
      if (!this.#unanswered.delete(id) && this.#answered.has(id)) return;
      this.#answered.add(id);
      if (this.#answered.size > ANSWERED_KEPT) this.#answered.delete(this.#answered.values().next().value!);
    }
    this.ends.send(data);
  }

  /**
   * The socket as the local Room sees it: only while it is the socket's current Connection, and events
   * only once the change under way is saved (`gate`).
   */
  fencedEnds(isCurrent: () => boolean, gate: SaveGate): SocketEnds {
    return {
      send: (data) =>
        gate.pass(data, () => {
          if (isCurrent()) this.deliver(data);
        }),
      close: (code, reason) =>
        gate.pass(null, () => {
          if (isCurrent()) this.ends.close(code, reason);
        }),
    };
  }
}

/** The id of a request frame, if it has one (clients built on JSON.stringify send it first: cheap). */
function requestIdOf(frame: string): number | undefined {
  const first = /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(frame.slice(0, 48))?.[1];
  if (first !== undefined) return Number(first);
  if (frame.length > MAX_TRACKED_FRAME) return undefined;
  try {
    const id = (JSON.parse(frame) as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The id of a reply the room sent (Presence.reply/replyError and the rate limit write `{"id":N,"ok":…`). */
function replyIdOf(data: string): number | undefined {
  const id = /^\{"id":(\d{1,15}),"ok":/.exec(data.slice(0, 32))?.[1];
  return id === undefined ? undefined : Number(id);
}
