/**
 * The edge's wiring, once for every runtime: from the parsed config, the node registry and a logger to
 * what rooms need — the media node clients (MediaNodes), the join token verifier and guest policy, the
 * limits — and the per-socket message budget. An adapter adds only what its runtime owns (a RoomHost,
 * the registry's storage), so a new setting is wired here and nowhere else.
 *
 *   const services = createEdgeServices(config, registry, log);
 *   const room = new Room(name, roomDeps(services.room, host));
 */
import type { EdgeConfig } from './config.ts';
import type { EdgeStall } from './edge-stall.ts';
import { JoinTokenVerifier } from './join-tokens.ts';
import type { Logger } from './logger.ts';
import { type ControlLinks, MediaNodes, type NodeWatch } from './media-nodes.ts';
import { type EdgeMetrics, noMetrics } from './metrics.ts';
import type { NodeRegistry } from './node-registry.ts';
import { stickyRegionLeastLoaded, type NodeSelector } from './node-selection.ts';
import { TokenBucket } from './rate-limit.ts';
import type { RoomServices } from './room/context.ts';
import { noWebhooks, type WebhookSink } from './webhooks/queue.ts';

export interface EdgeServices {
  /** What every room is given, whatever runtime hosts it. */
  readonly room: RoomServices;
  /** A fresh message budget for one socket (TREFFPUNKT_MESSAGES_PER_SECOND, bursts of twice that). */
  messageBudget(): TokenBucket;
  /**
   * Trusts the issuers (and guest policy) of `config` from now on, in every room at once: rooms share
   * this one `access` object, so a SIGHUP reload needs no room to restart. Joins already verified stay.
   */
  reloadAccess(config: EdgeConfig): void;
}

export interface EdgeServicesOptions {
  /** The node selection strategy (default: the room's region, then least loaded). */
  select?: NodeSelector;
  /** Where rooms and media node calls are counted (default: nowhere; the Node edge passes prom-client's). */
  metrics?: EdgeMetrics;
  /** Where room and participant events go (default: nowhere; TREFFPUNKT_WEBHOOKS on the Node edge). */
  webhooks?: WebhookSink;
  /** How this runtime notices its own stalls (the Node edge); none: it has none to notice. */
  stall?: EdgeStall;
  /** The node links that carry control calls (the Node edge); none: every control call is HTTP. */
  controlLinks?: ControlLinks;
  /** The node links as watchers (the Node edge): nodes whose link fell silent (room/failover.ts). */
  nodeWatch?: NodeWatch;
}

export function createEdgeServices(
  config: EdgeConfig,
  registry: NodeRegistry,
  log: Logger,
  {
    select = stickyRegionLeastLoaded,
    metrics = noMetrics,
    webhooks = noWebhooks,
    stall,
    controlLinks,
    nodeWatch,
  }: EdgeServicesOptions = {},
): EdgeServices {
  // After a stall, a node gets twice the heartbeat timeout to be heard again before silence counts.
  const stallGrace = stall ? { watch: stall, graceMs: 2 * config.nodeHeartbeatTimeoutMs } : undefined;
  const room: RoomServices = {
    nodes: new MediaNodes(
      registry,
      config.nodeSecrets,
      select,
      config.turnCredentialTtlSeconds,
      metrics,
      stallGrace,
      controlLinks,
      nodeWatch,
    ),
    access: {
      verifier: JoinTokenVerifier.fromConfig(config),
      guestPolicy: config.guestPolicy,
      removalBarMs: config.removalBarMs,
    },
    log,
    maxMessageBytes: config.maxMessageBytes,
    capacity: config.roomCapacity,
    maxProducers: config.maxProducers,
    maxTransports: config.maxTransports,
    maxConsumers: config.maxConsumers,
    lobbyCapacity: config.lobbyCapacity,
    joinTimeoutMs: config.joinTimeoutMs,
    resumeGraceMs: config.resumeGraceMs,
    mediaConstraint: config.mediaConstraint,
    nodeCheckIntervalMs: config.nodeCheckIntervalMs,
    handoverDeadlineMs: config.handoverDeadlineMs,
    metrics,
    webhooks,
  };
  const perSecond = config.messagesPerSecond;
  return {
    room,
    messageBudget: () => new TokenBucket(perSecond, 2 * perSecond),
    reloadAccess: (next) => {
      room.access.verifier = JoinTokenVerifier.fromConfig(next);
      room.access.guestPolicy = next.guestPolicy;
    },
  };
}
