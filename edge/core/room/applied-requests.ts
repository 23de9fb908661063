/**
 * Which requests of which cluster socket the room has applied, saved with the room's snapshot (edge
 * cluster, docs/edge-cluster.md "A request in flight when the owner steps down").
 *
 * When a room's owner edge steps down, the edge holding a socket sends the requests it got no reply to
 * on to the next owner, marked as sent again. Only the snapshot can tell that owner whether such a
 * request was applied: the old owner's last save may or may not have landed. The record is written into
 * the same snapshot as the change the request made, so "recorded" means "its change was saved", and a
 * request that is recorded is never applied a second time (a second `produce` would be a second producer).
 *
 * Kept small: per socket the ids of its last REQUESTS_KEPT requests, and a socket's entry only for
 * KEPT_MS after its last request (a request is sent again within seconds of a step-down, never later).
 * Sockets of a lone edge or a Durable Object have no cluster id and are not recorded at all.
 */

/** Requests per socket remembered: more than a client has in flight at once. */
const REQUESTS_KEPT = 32;
/** How long a socket's entry outlives its last request (a step-down plus a takeover take seconds). */
const KEPT_MS = 120_000;

/** As saved: [socket id, ms since the epoch of its last request, request ids]. */
export type AppliedRequestsSnapshot = [string, number, number[]][];

export class AppliedRequests {
  readonly #bySocket = new Map<string, { at: number; ids: number[] }>();

  /** Records that the socket's request `id` was applied (whether it succeeded or failed). */
  record(socketId: string, id: number, now: number): void {
    for (const [socket, entry] of this.#bySocket) if (now - entry.at > KEPT_MS) this.#bySocket.delete(socket);
    const entry = this.#bySocket.get(socketId) ?? { at: now, ids: [] };
    entry.at = now;
    entry.ids.push(id);
    if (entry.ids.length > REQUESTS_KEPT) entry.ids.shift();
    // Re-inserted: the Map's order is the order of last use.
    this.#bySocket.delete(socketId);
    this.#bySocket.set(socketId, entry);
  }

  has(socketId: string, id: number): boolean {
    return this.#bySocket.get(socketId)?.ids.includes(id) ?? false;
  }

  toSnapshot(): AppliedRequestsSnapshot {
    return [...this.#bySocket].map(([socket, { at, ids }]) => [socket, at, [...ids]]);
  }

  restore(snapshot: AppliedRequestsSnapshot): void {
    for (const [socket, at, ids] of snapshot) this.#bySocket.set(socket, { at, ids: [...ids] });
  }
}
