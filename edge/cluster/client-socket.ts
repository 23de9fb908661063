/**
 * A participant's WebSocket on this edge in cluster mode, whichever edge runs its room (issue 12). While
 * this edge owns the room the socket is an ordinary local Connection of the Room; otherwise its frames
 * wait in `outbox` and go to the owner in order, one acked request at a time (so that nothing overtakes,
 * and a frame the owner did not take stays queued for the next owner).
 */
import { nuid } from '@nats-io/transport-node';
import type { Connection } from '../core/connection.ts';
import type { SocketEnds } from '../node/room-host.ts';

/** The end of a socket's outbox: the socket closed (the owner must be told). */
export const CLOSED = Symbol('closed');
export type OutboxItem = string | ArrayBuffer | typeof CLOSED;

/** Frames one socket may have waiting while its room finds an owner; a flood beyond that is closed. */
export const MAX_WAITING_FRAMES = 256;

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

  constructor(ends: SocketEnds, addressKey: string | undefined) {
    this.ends = ends;
    this.addressKey = addressKey;
  }

  /** The socket as the local Room sees it: only while it is the socket's current Connection. */
  fencedEnds(isCurrent: () => boolean): SocketEnds {
    return {
      send: (data) => {
        if (isCurrent()) this.ends.send(data);
      },
      close: (code, reason) => {
        if (isCurrent()) this.ends.close(code, reason);
      },
    };
  }
}
