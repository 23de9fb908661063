/**
 * The node registry on Cloudflare: one Durable Object (named "global") holds every registered media
 * node in its storage; the Worker and the room objects reach it through RPC.
 */
import { DurableObject } from 'cloudflare:workers';
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';
import {
  newestHeartbeat,
  statusOf,
  type MediaNodeRecord,
  type NodeRegistry,
  type NodeStatus,
} from '../core/node-registry.ts';
import type { Env } from './env.ts';

const KEY = (nodeId: string) => `node:${nodeId}`;

export class NodeRegistryObject extends DurableObject<Env> {
  async register(registration: NodeRegistration, now: number): Promise<void> {
    await this.ctx.storage.put(KEY(registration.nodeId), {
      ...registration,
      registeredAt: now,
      lastHeartbeatAt: now,
    } satisfies MediaNodeRecord);
  }

  async heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean> {
    const node = await this.ctx.storage.get<MediaNodeRecord>(KEY(nodeId));
    if (!node) return false;
    await this.ctx.storage.put(KEY(nodeId), { ...node, load, lastHeartbeatAt: now });
    return true;
  }

  async drain(nodeId: string): Promise<boolean> {
    const node = await this.ctx.storage.get<MediaNodeRecord>(KEY(nodeId));
    if (!node) return false;
    await this.ctx.storage.put(KEY(nodeId), { ...node, draining: true });
    return true;
  }

  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.ctx.storage.get<MediaNodeRecord>(KEY(nodeId));
  }

  async status(nodeId: string, now: number, timeoutMs: number): Promise<NodeStatus> {
    const nodes = await this.ctx.storage.list<MediaNodeRecord>({ prefix: 'node:' });
    return statusOf(nodes.get(KEY(nodeId)), now, timeoutMs, newestHeartbeat(nodes.values()));
  }

  async healthy(now: number, timeoutMs: number): Promise<MediaNodeRecord[]> {
    const nodes = await this.ctx.storage.list<MediaNodeRecord>({ prefix: 'node:' });
    const newest = newestHeartbeat(nodes.values());
    return [...nodes.values()].filter((n) => statusOf(n, now, timeoutMs, newest) === 'up');
  }
}

export class DurableObjectNodeRegistry implements NodeRegistry {
  readonly #namespace: DurableObjectNamespace<NodeRegistryObject>;
  readonly #timeoutMs: number;

  constructor(namespace: DurableObjectNamespace<NodeRegistryObject>, heartbeatTimeoutMs: number) {
    this.#namespace = namespace;
    this.#timeoutMs = heartbeatTimeoutMs;
  }

  /** A stub per call: a stub is an I/O object tied to the request that made it. */
  get #stub(): DurableObjectStub<NodeRegistryObject> {
    return this.#namespace.get(this.#namespace.idFromName('global'));
  }

  async register(registration: NodeRegistration, now: number): Promise<void> {
    await this.#stub.register(registration, now);
  }
  async heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean> {
    return this.#stub.heartbeat(nodeId, load, now);
  }
  async drain(nodeId: string): Promise<boolean> {
    return this.#stub.drain(nodeId);
  }
  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return (await this.#stub.get(nodeId)) as MediaNodeRecord | undefined;
  }
  async status(nodeId: string, now: number): Promise<NodeStatus> {
    return this.#stub.status(nodeId, now, this.#timeoutMs);
  }
  async healthy(now: number): Promise<MediaNodeRecord[]> {
    return (await this.#stub.healthy(now, this.#timeoutMs)) as MediaNodeRecord[];
  }
}
