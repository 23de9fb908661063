/**
 * The media-node registry of a lone Node edge, kept in its state file (state-db.ts) so that a restarted
 * edge knows its nodes at once (issue 12, "A single edge survives its own restart"): rooms loaded from
 * their snapshots find their node registered and up, instead of declaring it lost and moving everyone
 * while the node waits out its retry backoff.
 *
 * Reads come from memory (InMemoryNodeRegistry, loaded once at start); every change is written through
 * to the table `media_nodes`, one row per node, the record as JSON.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';
import type { Logger } from '../core/logger.ts';
import {
  InMemoryNodeRegistry,
  MediaNodeRecordSchema,
  type MediaNodeRecord,
  type LeaveListener,
  type LosableNodeRegistry,
  type NodeLossReason,
  type NodeStatus,
} from '../core/node-registry.ts';

export class SqliteNodeRegistry implements LosableNodeRegistry {
  readonly #memory: InMemoryNodeRegistry;
  readonly #save: StatementSync;

  /**
   * Loads the stored records. `now` is the restart: every stored node counts as heard from then, since
   * while the edge was down nobody could hear it — a node gets a full heartbeat timeout to reach the
   * restarted edge before it is lost (the heartbeat carries the fresh load; no re-registration needed).
   */
  constructor(db: DatabaseSync, heartbeatTimeoutMs: number, log: Logger, now = Date.now(), startedAt?: number) {
    db.exec('CREATE TABLE IF NOT EXISTS media_nodes (node_id TEXT PRIMARY KEY, record TEXT NOT NULL) STRICT');
    this.#save = db.prepare(
      'INSERT INTO media_nodes (node_id, record) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET record = excluded.record',
    );
    const records: MediaNodeRecord[] = [];
    for (const row of db.prepare('SELECT node_id, record FROM media_nodes').all()) {
      let parsed: ReturnType<typeof MediaNodeRecordSchema.safeParse> | undefined;
      try {
        parsed = MediaNodeRecordSchema.safeParse(JSON.parse(String(row.record)));
      } catch {
        parsed = undefined;
      }
      // A record this version cannot read is dropped: that node registers again at its next heartbeat.
      if (parsed?.success)
        records.push({ ...parsed.data, lastHeartbeatAt: Math.max(parsed.data.lastHeartbeatAt, now) });
      else
        log.warn({ node: String(row.node_id).slice(0, 64) }, 'unreadable media node record in the state file, dropped');
    }
    this.#memory = new InMemoryNodeRegistry(heartbeatTimeoutMs, startedAt, records);
    if (records.length > 0)
      log.info({ nodes: records.map((r) => r.nodeId) }, 'media node registry loaded from the state file');
  }

  list(now: number): { record: MediaNodeRecord; status: NodeStatus }[] {
    return this.#memory.list(now);
  }

  async register(registration: NodeRegistration, now: number): Promise<void> {
    await this.#memory.register(registration, now);
    await this.#write(registration.nodeId);
  }

  async heartbeat(nodeId: string, load: NodeLoad, now: number): Promise<boolean> {
    if (!(await this.#memory.heartbeat(nodeId, load, now))) return false;
    await this.#write(nodeId);
    return true;
  }

  async drain(nodeId: string): Promise<boolean> {
    if (!(await this.#memory.drain(nodeId))) return false;
    await this.#write(nodeId);
    return true;
  }

  /** Written through like every change: an edge restarted right after still knows the node is lost. */
  async lose(nodeId: string, reason: NodeLossReason, now: number): Promise<boolean> {
    if (!(await this.#memory.lose(nodeId, reason, now))) return false;
    await this.#write(nodeId);
    return true;
  }

  onLeave(listener: LeaveListener): void {
    this.#memory.onLeave(listener);
  }

  get(nodeId: string): Promise<MediaNodeRecord | undefined> {
    return this.#memory.get(nodeId);
  }

  status(nodeId: string, now: number): Promise<NodeStatus> {
    return this.#memory.status(nodeId, now);
  }

  healthy(now: number): Promise<MediaNodeRecord[]> {
    return this.#memory.healthy(now);
  }

  async #write(nodeId: string): Promise<void> {
    const record = await this.#memory.get(nodeId);
    if (record) this.#save.run(nodeId, JSON.stringify(record));
  }
}
