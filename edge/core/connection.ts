import type { TokenBucket } from './rate-limit.ts';

/**
 * One participant's WebSocket as the room sees it. Each runtime adapter wraps its socket type in this;
 * the room never touches a runtime's socket directly.
 */
export interface Connection {
  send(data: string): void;
  close(code: number, reason: string): void;
  /**
   * The participant this socket joined as, undefined before `join` and after leaving. Kept with the
   * socket itself (a Durable Object stores it in the socket's attachment), so that it survives
   * hibernation: after a wake-up the room finds its participants' sockets again from this alone.
   */
  participantId: string | undefined;
  /** When the socket opened (ms since the epoch): a socket that does not join in time is closed. */
  readonly openedAt: number;
  /**
   * The client's address as the per-address socket limit groups it (an IPv6 /64), if known; kept with
   * the socket like participantId.
   */
  readonly addressKey?: string | undefined;
  /**
   * Edge cluster only: the socket's id across the cluster (the holding edge's id and its own), the same
   * whichever edge runs the room. The room records which of its requests it applied under it, so that a
   * request sent again after the room moved is not applied twice (applied-requests.ts). Unset elsewhere.
   */
  readonly socketId?: string | undefined;
  /** This socket's message budget; kept in memory by the adapter (a fresh one after hibernation). */
  readonly messages: TokenBucket;
}
