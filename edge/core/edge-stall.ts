/**
 * Whether the edge itself was frozen lately (issue 13, "A frozen edge moves rooms off healthy nodes"):
 * after SIGSTOP/SIGCONT, a VM pause or a long GC, the room checks run before the heartbeats that queued
 * up meanwhile are read, so every node looks silent — because the edge was. A runtime that can notice
 * its own stalls (the Node edge: edge/node/stall-watch.ts) passes one of these; MediaNodes then asks a
 * node's health endpoint before it calls the node lost. Durable Objects have no such stalls to notice.
 */
export interface EdgeStall {
  /** When the newest stall this edge noticed ended (its clock), or undefined if none yet. */
  lastStallEndedAt(): number | undefined;
}
