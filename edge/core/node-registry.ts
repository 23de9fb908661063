/**
 * The edge's view of the media nodes: who registered, where their control API is, their load and when
 * they last sent a heartbeat. An interface, so that the Node edge keeps it in memory and the Worker can
 * keep it in a registry Durable Object (livekit's local/Redis router split).
 */
import { z } from 'zod';
import { NodeRegistration, type NodeLoad } from '../../shared/control.ts';

export interface MediaNodeRecord extends NodeRegistration {
  registeredAt: number;
  lastHeartbeatAt: number;
  /** The node is going down (it said so): no new participants; rooms move theirs away. */
  draining?: boolean;
}

/**
 * up: selectable; draining: alive but leaving; lost: unknown, or no heartbeat within the timeout;
 * pending: unknown to a registry that started moments ago (see PENDING_AFTER_START_TIMEOUTS) — not
 * selectable, but its rooms do not fail over yet.
 */
export type NodeStatus = 'up' | 'draining' | 'pending' | 'lost';

/**
 * For how many heartbeat timeouts after the registry's start an unknown node is 'pending', not 'lost'.
 * A restarted Node edge loads its rooms from the state file at once, but its nodes learn of the restart
 * only from their next heartbeat (404: register again), and a node that could not reach the edge while
 * it was down retries with a backoff of up to 5 s (media-node/registration.ts). Without this, a room
 * loaded in the first seconds would move every participant off a node that is fine (issue 12). Twice the
 * timeout: the same bound after which a silent node counts as lost in any case.
 */
export const PENDING_AFTER_START_TIMEOUTS = 2;

/**
 * A record as a store holds it (the state file, a KV bucket other edges write to): parsed with this
 * schema when it is read back, like any message that crosses a boundary.
 */
export const MediaNodeRecordSchema = NodeRegistration.extend({
  registeredAt: z.number().finite(),
  lastHeartbeatAt: z.number().finite(),
  draining: z.boolean().optional(),
}).strict();

/**
 * A node is lost when its heartbeats stopped for `timeoutMs` while other nodes' kept arriving (their newest
 * is `timeoutMs / 2` younger), or for twice the timeout in any case. The edge judges nodes by its own
 * clock: if the edge itself stalled (a busy machine), every node's heartbeat looks equally old, and that
 * must not move every room at once.
 */
export function statusOf(
  node: MediaNodeRecord | undefined,
  now: number,
  timeoutMs: number,
  newestHeartbeatAt: number,
  registryStartedAt = -Infinity,
): NodeStatus {
  if (!node) return now - registryStartedAt < PENDING_AFTER_START_TIMEOUTS * timeoutMs ? 'pending' : 'lost';
  const silent = now - node.lastHeartbeatAt;
  if (silent > 2 * timeoutMs || (silent > timeoutMs && newestHeartbeatAt - node.lastHeartbeatAt > timeoutMs / 2))
    return 'lost';
  return node.draining ? 'draining' : 'up';
}

/** The newest heartbeat of any node (0 with none). */
export function newestHeartbeat(nodes: Iterable<MediaNodeRecord>): number {
  let newest = 0;
  for (const n of nodes) newest = Math.max(newest, n.lastHeartbeatAt);
  return newest;
}

export interface NodeRegistry {
  register(registration: NodeRegistration, now: number): Promise<void>;
  /** Returns false when the node is not registered (it must register again). */
  heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean>;
  /** Marks the node as draining; false when it is not registered. */
  drain(nodeId: string): Promise<boolean>;
  get(nodeId: string): Promise<MediaNodeRecord | undefined>;
  status(nodeId: string, now: number): Promise<NodeStatus>;
  /** Nodes that may take new participants: heartbeat newer than the timeout, not draining. */
  healthy(now: number): Promise<MediaNodeRecord[]>;
}

/** A registry this process can read synchronously, node by node with its status (metrics, the admin API). */
export interface ListableNodeRegistry extends NodeRegistry {
  list(now: number): { record: MediaNodeRecord; status: NodeStatus }[];
}

export class InMemoryNodeRegistry implements ListableNodeRegistry {
  readonly #nodes = new Map<string, MediaNodeRecord>();
  readonly #timeoutMs: number;
  readonly #startedAt: number;

  /**
   * `startedAt`: when the edge started with rooms it may have restored (the Node edge with a state
   * file); unknown nodes are 'pending' for a while after it. Without it, unknown is lost at once.
   * `initial`: records from a store (sqlite-registry.ts), kept as they are.
   */
  constructor(heartbeatTimeoutMs: number, startedAt = -Infinity, initial: Iterable<MediaNodeRecord> = []) {
    this.#timeoutMs = heartbeatTimeoutMs;
    this.#startedAt = startedAt;
    for (const r of initial) this.#nodes.set(r.nodeId, r);
  }

  async register(registration: NodeRegistration, now: number): Promise<void> {
    this.#nodes.set(registration.nodeId, { ...registration, registeredAt: now, lastHeartbeatAt: now });
  }

  async heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean> {
    const node = this.#nodes.get(nodeId);
    if (!node) return false;
    node.load = load;
    node.lastHeartbeatAt = now;
    return true;
  }

  async drain(nodeId: string): Promise<boolean> {
    const node = this.#nodes.get(nodeId);
    if (node) node.draining = true;
    return node !== undefined;
  }

  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.#nodes.get(nodeId);
  }

  async status(nodeId: string, now: number): Promise<NodeStatus> {
    return statusOf(
      this.#nodes.get(nodeId),
      now,
      this.#timeoutMs,
      newestHeartbeat(this.#nodes.values()),
      this.#startedAt,
    );
  }

  /** Every registered node with its status (admin API, metrics). */
  list(now: number): { record: MediaNodeRecord; status: NodeStatus }[] {
    const newest = newestHeartbeat(this.#nodes.values());
    return [...this.#nodes.values()].map((record) => ({
      record,
      status: statusOf(record, now, this.#timeoutMs, newest),
    }));
  }

  async healthy(now: number): Promise<MediaNodeRecord[]> {
    const newest = newestHeartbeat(this.#nodes.values());
    return [...this.#nodes.values()].filter((n) => statusOf(n, now, this.#timeoutMs, newest) === 'up');
  }
}
