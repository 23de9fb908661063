/**
 * What the edge keeps per media node to check its requests: a replay cache and rate limits of its own.
 * With one cache for all nodes, 100,000 valid requests from one node filled it and made every other
 * node's requests look like replays. Per node, a node can only exhaust its own budget: its limits refuse
 * it with RATE_LIMITED (HTTP 429) long before its cache is full, and the others carry on.
 *
 * Two buckets per node: registry calls (register, heartbeat, drain) and media events. A busy node's
 * events must never starve its own heartbeats, or the edge would declare a healthy node lost.
 *
 * In memory: on Workers this is per isolate, like the other rate limits (edge/core/rate-limit.ts).
 */
import { MAX_SKEW_MS, NonceCache } from '../../shared/request-signing.ts';
import { TokenBucket } from './rate-limit.ts';

export type NodeRequestKind = 'registry' | 'events';

/**
 * Registry calls a node may make per second (bursts of REGISTRY_BURST). Heartbeats come every third of
 * the heartbeat timeout (at least 333 ms, so at most 3/s); a re-registration or a drain adds one.
 */
export const REGISTRY_PER_SECOND = 10;
const REGISTRY_BURST = 30;

interface Guarded {
  registry: TokenBucket;
  events: TokenBucket;
  nonces: NonceCache;
}

/** Callers pass only authenticated node ids, so state exists for configured nodes only. */
export class NodeGuard {
  readonly #nodes = new Map<string, Guarded>();
  readonly #eventsPerSecond: number;
  readonly #nonceLimit: number;

  constructor(eventsPerSecond: number) {
    this.#eventsPerSecond = eventsPerSecond;
    // A nonce is kept for 2 × MAX_SKEW_MS; within the rate limits no more than this many are alive at once,
    // so a node within its limits never finds its cache full.
    const windowS = (2 * MAX_SKEW_MS) / 1000;
    this.#nonceLimit = REGISTRY_BURST + REGISTRY_PER_SECOND * windowS + 2 * eventsPerSecond + eventsPerSecond * windowS;
  }

  #of(nodeId: string, now: number): Guarded {
    let g = this.#nodes.get(nodeId);
    if (!g) {
      g = {
        registry: new TokenBucket(REGISTRY_PER_SECOND, REGISTRY_BURST, now),
        events: new TokenBucket(this.#eventsPerSecond, 2 * this.#eventsPerSecond, now),
        nonces: new NonceCache(this.#nonceLimit),
      };
      this.#nodes.set(nodeId, g);
    }
    return g;
  }

  /** Takes a token from the node's bucket for this kind of request; false: over its limit. */
  admit(nodeId: string, kind: NodeRequestKind, now = Date.now()): boolean {
    return this.#of(nodeId, now)[kind].take(now);
  }

  /** Spends the nonce in the node's own replay cache; false: a replay (or the cache is full of live ones). */
  remember(nodeId: string, nonce: string, now = Date.now()): boolean {
    return this.#of(nodeId, now).nonces.remember(nonce, now);
  }

  /** The most nonces kept per node (for docs and tests). */
  get nonceLimit(): number {
    return this.#nonceLimit;
  }
}
