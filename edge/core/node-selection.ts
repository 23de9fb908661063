/**
 * Node selection strategies: small functions that pick one media node for a participant. Wired at start;
 * region-, operator- and jurisdiction-aware strategies slot in next to these.
 */
import type { MediaNodeRecord } from './node-registry.ts';

export interface SelectionRequest {
  /** Nodes the room already uses; a strategy may prefer them so that a room stays on few nodes. */
  roomNodeIds: readonly string[];
  /** Region hint of the participant (runtime geo data or a header), if any. */
  region?: string;
}

export type NodeSelector = (candidates: readonly MediaNodeRecord[], request: SelectionRequest) => MediaNodeRecord | undefined;

/** Sum of the work on a node: what makes it slower for the next participant. */
export function loadScore(node: MediaNodeRecord): number {
  const l = node.load;
  return (l.transports + l.producers + l.consumers) / Math.max(1, l.workers);
}

/**
 * The default: keep a room on a node it already uses, else the same region, then the least loaded node
 * (ties broken by node id so the choice is deterministic).
 */
export const stickyRegionLeastLoaded: NodeSelector = (candidates, request) => {
  const sticky = candidates.filter((n) => request.roomNodeIds.includes(n.nodeId));
  const regional = request.region ? candidates.filter((n) => n.region === request.region) : [];
  const pool = sticky.length > 0 ? sticky : regional.length > 0 ? regional : candidates;
  return [...pool].sort((a, b) => loadScore(a) - loadScore(b) || a.nodeId.localeCompare(b.nodeId))[0];
};
