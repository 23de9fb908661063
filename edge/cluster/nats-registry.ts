/**
 * The media-node registry of an edge cluster (issue 12, "The registry is shared"): one JetStream KV bucket,
 * `treffpunkt-nodes`, one key per node, the record as JSON. A node registers and sends heartbeats to any
 * edge; that edge writes the record, and every edge watches the bucket, so every edge sees every node.
 *
 * Reads (status, healthy, get) come from the local cache the watch keeps, so a room's node check costs no
 * NATS round trip. Writes are compare-and-set on the cached revision (kv.update), retried on a conflict,
 * so a drain written by one edge is not undone by a heartbeat another edge writes at the same moment.
 *
 * NATS unreachable: the edge keeps its own view (the write goes to the cache only, a throttled warning
 * says so), so the rooms it owns keep their nodes instead of declaring them all lost; the next write
 * after NATS is back conflicts on the stale revision and is redone on the stored record.
 *
 * Timestamps are the writing edge's clock: edges of one cluster must keep their clocks in sync (NTP), as
 * they must for the room leases anyway (docs/edge-cluster.md).
 */
import type { KV, KvEntry, KvWatchEntry } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';
import { ThrottledWarnings } from '../../shared/throttled-warnings.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import { untilReady } from './nats.ts';
import {
  LeaveListeners,
  type LeaveListener,
  MediaNodeRecordSchema,
  newestHeartbeat,
  statusOf,
  type MediaNodeRecord,
  type LosableNodeRegistry,
  type NodeLossReason,
  type NodeStatus,
} from '../core/node-registry.ts';

export const NODE_BUCKET = 'treffpunkt-nodes';

/** How often a write retries after another edge changed the record in between. */
const MAX_CAS_ATTEMPTS = 4;

interface Cached {
  record: MediaNodeRecord;
  /** The KV revision the record was read or written at; 0: written locally only (NATS was away). */
  revision: number;
}

export interface NatsRegistryOptions {
  heartbeatTimeoutMs: number;
  log: Logger;
  /** Replicas of the bucket when this edge creates it (3 on a 3-server cluster). */
  replicas?: number;
}

export class NatsNodeRegistry implements LosableNodeRegistry {
  readonly #kv: KV;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #cache = new Map<string, Cached>();
  readonly #warnings = new ThrottledWarnings();
  readonly #leaving = new LeaveListeners();
  #watch: QueuedIterator<KvWatchEntry> | undefined;

  /** Use `open` (or `start` after constructing with a bucket of one's own). */
  constructor(kv: KV, { heartbeatTimeoutMs, log }: NatsRegistryOptions) {
    this.#kv = kv;
    this.#timeoutMs = heartbeatTimeoutMs;
    this.#log = log;
  }

  /**
   * Opens (or creates) the bucket and loads every record before it returns: an edge that starts serves
   * rooms with the nodes the cluster knows. Records of nodes silent for long expire with the bucket's
   * max age (heartbeats rewrite live ones), so the bucket does not fill with nodes that are gone.
   */
  static async open(nc: NatsConnection, opts: NatsRegistryOptions): Promise<NatsNodeRegistry> {
    // Like the lease and room buckets (nats.ts): a JetStream still electing its leader is waited for.
    return untilReady(opts.log, async () => {
      const kv = await new Kvm(nc).create(NODE_BUCKET, {
        history: 1,
        replicas: opts.replicas ?? 1,
        ttl: Math.max(60_000, 20 * opts.heartbeatTimeoutMs),
        timeout: 2_000,
      });
      const registry = new NatsNodeRegistry(kv, opts);
      await registry.start();
      return registry;
    });
  }

  /** Loads the bucket, then watches it (a replayed entry older than the cached one is ignored). */
  async start(): Promise<void> {
    for await (const key of await this.#kv.keys()) {
      const entry = await this.#kv.get(key);
      if (entry) this.#apply(entry);
    }
    this.#watch = await this.#kv.watch();
    void (async () => {
      try {
        for await (const entry of this.#watch!) this.#apply(entry);
      } catch (err) {
        this.#log.error({ ...errorFields(err) }, 'the media node registry watch ended');
      }
    })();
  }

  stop(): void {
    this.#watch?.stop();
  }

  async register(registration: NodeRegistration, now: number): Promise<void> {
    const record: MediaNodeRecord = { ...registration, registeredAt: now, lastHeartbeatAt: now };
    let revision = 0;
    try {
      // A registration replaces whatever was there: no compare-and-set needed.
      revision = await this.#kv.put(registration.nodeId, JSON.stringify(record));
    } catch (err) {
      this.#unreachable(err);
    }
    this.#keep(record, revision);
  }

  /** Refused for a node some edge found lost: it registers again. */
  heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean> {
    return this.#update(nodeId, (r) => (r.lostAt === undefined ? { ...r, load, lastHeartbeatAt: now } : undefined));
  }

  /**
   * Written to the bucket, so that every edge sees the loss the edge holding the node's link found; each
   * edge's listeners hear of it from its watch (or from this write, whichever comes first).
   */
  lose(nodeId: string, _reason: NodeLossReason, now: number): Promise<boolean> {
    return this.#update(nodeId, (r) => (r.lostAt === undefined ? { ...r, lostAt: now } : undefined));
  }

  onLeave(listener: LeaveListener): void {
    this.#leaving.add(listener);
  }

  drain(nodeId: string): Promise<boolean> {
    return this.#update(nodeId, (r) => ({ ...r, draining: true }));
  }

  async get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.#cache.get(nodeId)?.record;
  }

  list(now: number): { record: MediaNodeRecord; status: NodeStatus }[] {
    const newest = this.#newest();
    return [...this.#cache.values()].map(({ record }) => ({
      record,
      status: statusOf(record, now, this.#timeoutMs, newest),
    }));
  }

  async status(nodeId: string, now: number): Promise<NodeStatus> {
    return statusOf(this.#cache.get(nodeId)?.record, now, this.#timeoutMs, this.#newest());
  }

  async healthy(now: number): Promise<MediaNodeRecord[]> {
    const newest = this.#newest();
    return this.#records().filter((n) => statusOf(n, now, this.#timeoutMs, newest) === 'up');
  }

  #records(): MediaNodeRecord[] {
    return [...this.#cache.values()].map((c) => c.record);
  }

  #newest(): number {
    return newestHeartbeat(this.#records());
  }

  /**
   * Compare-and-set on the cached revision; on a conflict, again on the stored record. `change` returns
   * undefined to refuse (false, nothing written).
   */
  async #update(nodeId: string, change: (r: MediaNodeRecord) => MediaNodeRecord | undefined): Promise<boolean> {
    let current = this.#cache.get(nodeId);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (!current) return false;
      const next = change(current.record);
      if (!next) return false;
      try {
        const revision = await this.#kv.update(nodeId, JSON.stringify(next), current.revision);
        this.#keep(next, revision);
        return true;
      } catch (err) {
        if (!isConflict(err)) {
          this.#unreachable(err);
          this.#keep(next, current.revision);
          return true;
        }
        current = await this.#fetch(nodeId);
      }
    }
    throw new Error(`the record of media node ${nodeId} kept changing under this edge`);
  }

  async #fetch(nodeId: string): Promise<Cached | undefined> {
    const entry = await this.#kv.get(nodeId);
    if (entry) this.#apply(entry);
    return entry && entry.operation === 'PUT' ? this.#cache.get(nodeId) : undefined;
  }

  #keep(record: MediaNodeRecord, revision: number): void {
    const cached = this.#cache.get(record.nodeId);
    if (cached && revision !== 0 && cached.revision > revision) return;
    this.#set(record, revision);
  }

  /** Caches the record; a loss or drain it brings (written here or by another edge) is told to the listeners. */
  #set(record: MediaNodeRecord, revision: number): void {
    const before = this.#cache.get(record.nodeId)?.record;
    this.#cache.set(record.nodeId, { record, revision });
    if (record.lostAt !== undefined && before?.lostAt !== record.lostAt) this.#leaving.notify(record.nodeId, 'lost');
    else if (record.draining && before && !before.draining) this.#leaving.notify(record.nodeId, 'draining');
  }

  /** An entry from the bucket, parsed: other edges (maybe of other operators) wrote it. */
  #apply(entry: KvEntry): void {
    const cached = this.#cache.get(entry.key);
    if (cached && cached.revision >= entry.revision) return;
    if (entry.operation !== 'PUT') {
      this.#cache.delete(entry.key);
      return;
    }
    let parsed: ReturnType<typeof MediaNodeRecordSchema.safeParse> | undefined;
    try {
      parsed = MediaNodeRecordSchema.safeParse(entry.json());
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success || parsed.data.nodeId !== entry.key) {
      this.#warnings.warn(`bad|${entry.key}`, (suppressed) =>
        this.#log.warn({ key: entry.key.slice(0, 64), suppressed }, 'unreadable media node record in NATS, ignored'),
      );
      return;
    }
    this.#set(parsed.data, entry.revision);
  }

  #unreachable(err: unknown): void {
    this.#warnings.warn('unreachable', (suppressed) =>
      this.#log.warn(
        { ...errorFields(err), suppressed },
        'NATS unreachable: the media node registry is kept locally on this edge until it is back',
      ),
    );
  }
}

/** kv.update refused: the record changed since the revision we had ("wrong last sequence"). */
function isConflict(err: unknown): boolean {
  return (
    err instanceof Error &&
    /wrong last sequence|10071/i.test(`${err.message} ${String((err as { code?: unknown }).code)}`)
  );
}
