/**
 * Turns the registry, the per-node secrets and a selection strategy into media node clients: what a room
 * needs to place a participant and to talk to the node it is on.
 */
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import type { EdgeStall } from './edge-stall.ts';
import type { LinkCalls } from './link-calls.ts';
import { MediaNodeClient } from './media-node-client.ts';
import { describeConstraint, isConstrained, meetsConstraint, type MediaConstraint } from './media-constraint.ts';
import type { NodeRegistry, NodeStatus } from './node-registry.ts';
import type { NodeSelector, SelectionRequest } from './node-selection.ts';
import { type EdgeMetrics, noMetrics } from './metrics.ts';
import { mintTurnCredentials, type TurnIceServer } from './turn-credentials.ts';

/** The node links of this edge that carry control calls (node-links.ts): an open one's calls, or none. */
export interface ControlLinks {
  calls(nodeId: string): LinkCalls | undefined;
}

/** The node links of this edge as watchers (node-links.ts): a node whose link fell silent. */
export interface NodeWatch {
  unresponsive(nodeId: string): boolean;
}

/**
 * What a room acts on: the registry's status, or `unresponsive` for a node the registry has up but whose
 * link to this edge is silent while its health check runs (NodeWatch): perhaps frozen, perhaps slow.
 */
export type NodeCondition = NodeStatus | 'unresponsive';

export class MediaNodes {
  readonly #registry: NodeRegistry;
  readonly #secrets: ReadonlyMap<string, readonly string[]>;
  readonly #select: NodeSelector;

  readonly #turnTtlSeconds: number;
  readonly #aborts = new Map<string, AbortController>();
  readonly #metrics: EdgeMetrics;
  readonly #stall: { watch: EdgeStall; graceMs: number } | undefined;
  /** Health checks in flight or just answered, per node: many rooms asking at once cost one request. */
  readonly #health = new Map<string, { at: number; up: Promise<boolean> }>();
  readonly #links: ControlLinks | undefined;
  readonly #watch: NodeWatch | undefined;

  /**
   * `stall`: how this edge notices its own stalls, and how long after one a node silent since is asked
   * directly (its health endpoint) before it counts as lost. `links`: the node links that carry control
   * calls (the Node edge, TREFFPUNKT_NODE_CONTROL=link); none: every call is HTTP. `watch`: the node
   * links as watchers (the Node edge), whatever carries the calls.
   */
  constructor(
    registry: NodeRegistry,
    secrets: ReadonlyMap<string, readonly string[]>,
    select: NodeSelector,
    turnTtlSeconds: number,
    metrics: EdgeMetrics = noMetrics,
    stall?: { watch: EdgeStall; graceMs: number },
    links?: ControlLinks,
    watch?: NodeWatch,
  ) {
    this.#links = links;
    this.#watch = watch;
    this.#metrics = metrics;
    this.#registry = registry;
    this.#secrets = secrets;
    this.#select = select;
    this.#turnTtlSeconds = turnTtlSeconds;
    this.#stall = stall;
  }

  /**
   * A node for a participant among the healthy ones that meet the room's constraint and are not
   * excluded (the node being left). NO_MEDIA_NODE when none is up, CONSTRAINT_UNMET when nodes are up
   * but none may carry this room.
   */
  async select(
    request: SelectionRequest & { constraint: MediaConstraint; exclude?: readonly string[] },
  ): Promise<MediaNodeClient> {
    // A node whose credentials were revoked (node-secrets-file.ts) may still be in the registry: never chosen.
    const up = (await this.#registry.healthy(Date.now())).filter(
      (n) => !request.exclude?.includes(n.nodeId) && this.#secrets.has(n.nodeId),
    );
    const allowed = up.filter((n) => meetsConstraint(n, request.constraint));
    // A node that may be frozen gets nobody new while another may carry them.
    const responsive = allowed.filter((n) => !this.#watch?.unresponsive(n.nodeId));
    const node = this.#select(responsive.length > 0 ? responsive : allowed, request);
    if (!node) {
      if (up.length > 0 && isConstrained(request.constraint)) {
        throw new TreffpunktError(
          ErrorCode.ConstraintUnmet,
          `no media node that this meeting may use is available (it requires ${describeConstraint(request.constraint)})`,
        );
      }
      throw new TreffpunktError(ErrorCode.NoMediaNode, 'no media node is available, try again shortly');
    }
    return this.#client(node.nodeId, node.controlUrl);
  }

  /** For the log when no node could be chosen: each configured node's age of its last heartbeat (ms), or null. */
  async heartbeatAges(): Promise<Record<string, number | null>> {
    const now = Date.now();
    const ages: Record<string, number | null> = {};
    for (const id of this.#secrets.keys()) {
      const n = await this.#registry.get(id);
      ages[id] = n ? now - n.lastHeartbeatAt : null;
    }
    return ages;
  }

  /**
   * The registry's verdict, `unresponsive` for an up node whose link is silent (NodeWatch); but a node the registry finds lost, silent since before this edge's own
   * stall ended less than the grace ago, is asked directly: its silence may be the edge's (issue 13).
   */
  async status(nodeId: string): Promise<NodeCondition> {
    const now = Date.now();
    const status = await this.#registry.status(nodeId, now);
    if (status === 'up' && this.#watch?.unresponsive(nodeId)) return 'unresponsive';
    const endedAt = this.#stall?.watch.lastStallEndedAt();
    if (status !== 'lost' || endedAt === undefined || now - endedAt > this.#stall!.graceMs) return status;
    const node = await this.#registry.get(nodeId);
    if (!node || node.lastHeartbeatAt > endedAt) return status;
    return (await this.#healthy(nodeId, node.controlUrl, now)) ? (node.draining ? 'draining' : 'up') : 'lost';
  }

  #healthy(nodeId: string, controlUrl: string, now: number): Promise<boolean> {
    const cached = this.#health.get(nodeId);
    if (cached && now - cached.at < 1_000) return cached.up;
    const up = this.#client(nodeId, controlUrl).reachable();
    this.#health.set(nodeId, { at: now, up });
    return up;
  }

  /**
   * The node's health check, fresh (not cached): the node link's confirmation that a node whose link
   * closed or fell silent is really gone (node-links.ts). False for a node unknown or without a secret.
   */
  async probe(nodeId: string, timeoutMs: number): Promise<boolean> {
    const node = await this.#registry.get(nodeId);
    if (!node || !this.#secrets.has(nodeId)) return false;
    return this.#client(nodeId, node.controlUrl).reachable(timeoutMs);
  }

  async client(nodeId: string): Promise<MediaNodeClient> {
    const node = await this.#registry.get(nodeId);
    if (!node) throw new TreffpunktError(ErrorCode.NoMediaNode, `media node ${nodeId} is gone`);
    return this.#client(nodeId, node.controlUrl);
  }

  /**
   * For the operator's log: where a node says it is (region, operator) and its announced media address,
   * as it registered them; undefined for a node the registry does not know (any more).
   */
  async describe(
    nodeId: string,
  ): Promise<{ region: string; operator: string; address?: string; tcpPort?: number } | undefined> {
    const node = await this.#registry.get(nodeId);
    if (!node) return undefined;
    return {
      region: node.region,
      operator: node.operator,
      ...(node.media ? { address: node.media.address, tcpPort: node.media.tcpPort } : {}),
    };
  }

  /**
   * TURN credentials on a node for the person with this identity key (the token identity of
   * a token holder, the participant id for a guest; see turn-credentials.ts), valid for
   * `turnCredentialTtlSeconds`; none when the node runs no TURN service. The node's allocation quota
   * counts per identity key.
   */
  async iceServers(nodeId: string, identity: string): Promise<TurnIceServer[]> {
    const node = await this.#registry.get(nodeId);
    if (!node?.turn) return [];
    return [
      await mintTurnCredentials({
        secret: node.turn.secret,
        urls: node.turn.urls,
        identity,
        ttlSeconds: this.#turnTtlSeconds,
        now: Date.now(),
      }),
    ];
  }

  /** How long the credentials from iceServers() stay valid (s): clients renew them before (restartIce). */
  get turnCredentialTtlSeconds(): number {
    return this.#turnTtlSeconds;
  }

  /** Ends the calls in flight to a node found lost, so that they do not hold up the room until they time out. */
  abortCalls(nodeId: string): void {
    this.#aborts.get(nodeId)?.abort();
    this.#aborts.delete(nodeId);
  }

  #client(nodeId: string, controlUrl: string): MediaNodeClient {
    const secret = this.#secrets.get(nodeId)?.[0];
    if (!secret) throw new TreffpunktError(ErrorCode.NoMediaNode, `media node ${nodeId} has no configured secret`);
    let abort = this.#aborts.get(nodeId);
    if (!abort) this.#aborts.set(nodeId, (abort = new AbortController()));
    const links = this.#links;
    return new MediaNodeClient({
      nodeId,
      controlUrl,
      secret,
      abort: abort.signal,
      metrics: this.#metrics,
      ...(links ? { link: () => links.calls(nodeId) } : {}),
    });
  }
}
