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
  /**
   * When the edge that held the node's link found it dead (node-links.ts): lost until it registers again,
   * whatever its heartbeat age says. A heartbeat from a lost node is refused (it registers again).
   */
  lostAt?: number;
}

/** Why the node link declared a node lost (the label of treffpunkt_edge_node_losses_total). */
export type NodeLossReason = 'link closed' | 'link silent';

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
  lostAt: z.number().finite().optional(),
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
  if (node.lostAt !== undefined) return 'lost';
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

/** Why a node stops carrying rooms, as onLeave listeners hear it. */
export type NodeLeaving = 'lost' | 'draining';
export type LeaveListener = (nodeId: string, why: NodeLeaving) => void;

/**
 * A registry that hears of deaths from the node link (node-links.ts, Node edge only for now): `lose`
 * marks a node lost at once. `onLeave` listeners (the rooms' immediate node check) hear of every loss and
 * every drain it records — also, in a cluster, of those another edge wrote — so that rooms move their
 * participants now rather than at their next check (a third of the heartbeat timeout away).
 */
export interface LosableNodeRegistry extends ListableNodeRegistry {
  /** Marks the node lost until it registers again; false when it was unknown or lost already. */
  lose(nodeId: string, reason: NodeLossReason, now: number): Promise<boolean>;
  onLeave(listener: LeaveListener): void;
}

/** The onLeave listeners of one registry; a listener that throws does not keep the others from hearing. */
export class LeaveListeners {
  readonly #listeners: LeaveListener[] = [];
  add(listener: LeaveListener): void {
    this.#listeners.push(listener);
  }
  notify(nodeId: string, why: NodeLeaving): void {
    for (const l of this.#listeners)
      try {
        l(nodeId, why);
      } catch {
        // A listener's own failure is its own to log.
      }
  }
}

export class InMemoryNodeRegistry implements LosableNodeRegistry {
  readonly #nodes = new Map<string, MediaNodeRecord>();
  readonly #timeoutMs: number;
  readonly #startedAt: number;
  readonly #leaving = new LeaveListeners();

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
    if (!node || node.lostAt !== undefined) return false;
    node.load = load;
    node.lastHeartbeatAt = now;
    return true;
  }

  async drain(nodeId: string): Promise<boolean> {
    const node = this.#nodes.get(nodeId);
    if (!node) return false;
    if (!node.draining) {
      node.draining = true;
      this.#leaving.notify(nodeId, 'draining');
    }
    return true;
  }

  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.#nodes.get(nodeId);
  }

  async lose(nodeId: string, _reason: NodeLossReason, now: number): Promise<boolean> {
    const node = this.#nodes.get(nodeId);
    if (!node || node.lostAt !== undefined) return false;
    node.lostAt = now;
    this.#leaving.notify(nodeId, 'lost');
    return true;
  }

  onLeave(listener: LeaveListener): void {
    this.#leaving.add(listener);
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
