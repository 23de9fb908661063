/**
 * The edge's view of the media nodes: who registered, where their control API is, their load and when
 * they last sent a heartbeat. An interface, so that the Node edge keeps it in memory and the Worker can
 * keep it in a registry Durable Object (livekit's local/Redis router split).
 */
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';

export interface MediaNodeRecord extends NodeRegistration {
  registeredAt: number;
  lastHeartbeatAt: number;
}

export interface NodeRegistry {
  register(registration: NodeRegistration, now: number): Promise<void>;
  /** Returns false when the node is not registered (it must register again). */
  heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean>;
  get(nodeId: string): Promise<MediaNodeRecord | undefined>;
  /** Nodes whose last heartbeat is newer than the timeout. */
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

  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.#nodes.get(nodeId);
  }

  async healthy(now: number): Promise<MediaNodeRecord[]> {
    return [...this.#nodes.values()].filter((n) => now - n.lastHeartbeatAt <= this.#timeoutMs);
  }
}
