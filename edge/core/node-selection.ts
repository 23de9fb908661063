/**
 * Node selection strategies: small functions that pick one media node for a participant. Wired at start.
 * The room's operator/jurisdiction constraint is applied before (media-nodes.ts), so that no strategy can
 * break it.
 */
import type { MediaNodeRecord } from './node-registry.ts';

export interface SelectionRequest {
  /** Nodes the room already uses; a strategy may prefer them so that a room stays on few nodes. */
  roomNodeIds: readonly string[];
  /** Region hint of the participant (runtime geo data or a header), if any. */
  region?: string;
}

export type NodeSelector = (
  candidates: readonly MediaNodeRecord[],
  request: SelectionRequest,
) => MediaNodeRecord | undefined;

/** Sum of the work on a node: what makes it slower for the next participant. */
export function loadScore(node: MediaNodeRecord): number {
  const l = node.load;
  return (l.transports + l.producers + l.consumers) / Math.max(1, l.workers);
}

/**
 * The default: a node in the participant's region when there is one (people far apart each get a node
 * near them, and the room's nodes pipe media between them); among those, or among all when no region
 * matches, a node the room already uses (fewer pipes), else the least loaded (ties broken by node id so
 * the choice is deterministic). Candidates already meet the room's operator/jurisdiction constraint.
 */
export const stickyRegionLeastLoaded: NodeSelector = (candidates, request) => {
  const regional = request.region ? candidates.filter((n) => n.region === request.region) : [];
  const near = regional.length > 0 ? regional : candidates;
  const sticky = near.filter((n) => request.roomNodeIds.includes(n.nodeId));
  const pool = sticky.length > 0 ? sticky : near;
  return [...pool].sort((a, b) => loadScore(a) - loadScore(b) || a.nodeId.localeCompare(b.nodeId))[0];
};
