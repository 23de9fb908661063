/**
 * The edge's view of the media nodes: who registered, where their control API is, their load and when
 * they last sent a heartbeat. An interface, so that the Node edge keeps it in memory and the Worker can
 * keep it in a registry Durable Object (livekit's local/Redis router split).
 */
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';

export interface MediaNodeRecord extends NodeRegistration {
  registeredAt: number;
  lastHeartbeatAt: number;
  /** The node is going down (it said so): no new participants; rooms move theirs away. */
  draining?: boolean;
}

/** up: selectable; draining: alive but leaving; lost: unknown, or no heartbeat within the timeout. */
export type NodeStatus = 'up' | 'draining' | 'lost';

export function statusOf(node: MediaNodeRecord | undefined, now: number, timeoutMs: number): NodeStatus {
  if (!node || now - node.lastHeartbeatAt > timeoutMs) return 'lost';
  return node.draining ? 'draining' : 'up';
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

export class InMemoryNodeRegistry implements NodeRegistry {
  readonly #nodes = new Map<string, MediaNodeRecord>();
  readonly #timeoutMs: number;

  constructor(heartbeatTimeoutMs: number) {
    this.#timeoutMs = heartbeatTimeoutMs;
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
    return statusOf(this.#nodes.get(nodeId), now, this.#timeoutMs);
  }

  async healthy(now: number): Promise<MediaNodeRecord[]> {
    return [...this.#nodes.values()].filter((n) => statusOf(n, now, this.#timeoutMs) === 'up');
  }
}
