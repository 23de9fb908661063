/**
 * Which media-node registry a Node edge uses, chosen at wiring time (livekit's local/Redis split): in a
 * cluster (a NATS connection) the shared KV registry every edge watches; a lone edge with a state file
 * the SQLite one that survives a restart; otherwise memory (`npm start`).
 *
 *   const registry = await createNodeRegistry({ heartbeatTimeoutMs, log, db: openStateDb(path) });
 */
import type { DatabaseSync } from 'node:sqlite';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsNodeRegistry } from '../cluster/nats-registry.ts';
import type { Logger } from '../core/logger.ts';
import { InMemoryNodeRegistry, type LosableNodeRegistry } from '../core/node-registry.ts';
import { SqliteNodeRegistry } from './sqlite-registry.ts';

export interface NodeRegistryChoice {
  heartbeatTimeoutMs: number;
  log: Logger;
  /** The edge's state file (state-db.ts openStateDb). */
  db?: DatabaseSync | undefined;
  /** The edge's NATS connection: wins over the state file, since every edge must see the same nodes. */
  nats?: NatsConnection | undefined;
  /** Replicas of the KV bucket when this edge creates it. */
  replicas?: number | undefined;
  /**
   * When an edge with restored rooms started (a state file): nodes it does not know are 'pending' for a
   * while after it, not lost (node-registry.ts, PENDING_AFTER_START_TIMEOUTS).
   */
  startedAt?: number | undefined;
}

/** The registry and how it ends (stops the KV watch). */
export async function createNodeRegistry({
  heartbeatTimeoutMs,
  log,
  db,
  nats,
  replicas,
  startedAt,
}: NodeRegistryChoice): Promise<{ registry: LosableNodeRegistry; kind: 'nats' | 'sqlite' | 'memory'; stop(): void }> {
  if (nats) {
    const registry = await NatsNodeRegistry.open(nats, { heartbeatTimeoutMs, log, replicas });
    return { registry, kind: 'nats', stop: () => registry.stop() };
  }
  if (db)
    return {
      registry: new SqliteNodeRegistry(db, heartbeatTimeoutMs, log, Date.now(), startedAt),
      kind: 'sqlite',
      stop: () => {},
    };
  return { registry: new InMemoryNodeRegistry(heartbeatTimeoutMs, startedAt), kind: 'memory', stop: () => {} };
}
