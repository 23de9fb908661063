/**
 * What the edge counts, as an interface: the core stays runtime-neutral (prom-client is Node-only), so
 * rooms and the media node client report here and the Node edge's adapter (edge/node/metrics.ts) turns
 * it into Prometheus metrics. Other runtimes get `noMetrics` (on Cloudflare: Workers analytics, see
 * docs/metrics.md). Labels never carry personal data: methods, error codes, operations, node ids.
 */
import type { NodeLossReason } from './node-registry.ts';

/** How a request or a media node call ended: 'ok', or the stable error code. */
export type Outcome = 'ok' | string;

/** The way a control call went to its media node: over the node link, or as a signed HTTP request. */
export type ControlVia = 'link' | 'http';

export interface EdgeMetrics {
  /** One signaling request handled: its method, outcome and how long it took (queue included). */
  request(method: string, outcome: Outcome, seconds: number): void;
  /**
   * One control call to a media node: the operation, the node, the outcome ('unreachable' when cut off)
   * and the way it went (the node link or HTTP).
   */
  nodeCall(op: string, nodeId: string, outcome: Outcome, seconds: number, via: ControlVia): void;
  /** One participant moved off a failed or draining node (`reason`), or left without one ('unavailable'). */
  failover(reason: 'nodeFailed' | 'nodeDraining' | 'unavailable'): void;
  /** The node link found a media node dead (node-links.ts): its link closed, or fell silent, and its health check failed. */
  nodeLoss(reason: NodeLossReason): void;
  /** A webhook delivery attempt ended: 'ok', 'retry', 'failed' (gave up), 'dropped' (queue full). */
  webhook(outcome: 'ok' | 'retry' | 'failed' | 'dropped'): void;
}

export const noMetrics: EdgeMetrics = {
  request: () => {},
  nodeCall: () => {},
  failover: () => {},
  nodeLoss: () => {},
  webhook: () => {},
};

/** Seconds since `startMs` (performance.now() where the runtime has it: Workers freeze Date.now()). */
export function secondsSince(startMs: number): number {
  return (now() - startMs) / 1000;
}

export function now(): number {
  return typeof performance === 'undefined' ? Date.now() : performance.now();
}
