/**
 * The Node edge's Prometheus metrics (prom-client), served on TREFFPUNKT_METRICS_ADDR (ops.ts). The
 * core reports through EdgeMetrics (edge/core/metrics.ts); what is a state rather than an event (rooms,
 * participants, nodes, heartbeat ages, queued webhooks) is read when scraped, so it costs nothing between
 * scrapes. Labels: methods, error codes, operations, node ids — never names or tokens; room names only
 * with TREFFPUNKT_METRICS_ROOM_LABELS=1. Every name here is in docs/grafana-dashboard.json.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EdgeMetrics } from '../core/metrics.ts';
import type { ListableNodeRegistry } from '../core/node-registry.ts';
import type { InProcessRooms } from './room-host.ts';

/** What the scrape reads: the rooms of this process, the registry, the webhook queue. */
export interface EdgeMetricsSources {
  rooms: () => InProcessRooms | undefined;
  registry: ListableNodeRegistry;
  webhooksQueued: () => number;
  roomLabels: boolean;
}

// Signaling requests take ms (chat) to seconds (a join that creates a router on a far node).
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createEdgeMetrics(sources: EdgeMetricsSources): { metrics: EdgeMetrics; registry: Registry } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'treffpunkt_edge_' });
  const requests = new Counter({
    name: 'treffpunkt_edge_requests_total',
    help: 'Signaling requests by method and outcome (ok or the stable error code).',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'treffpunkt_edge_request_duration_seconds',
    help: 'Signaling request latency by method, time in the room queue included.',
    labelNames: ['method'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const joins = new Counter({
    name: 'treffpunkt_edge_joins_total',
    help: 'Join requests by outcome: ok, or the refusal code (ROOM_FULL, UNAUTHORIZED, WAITING_IN_LOBBY, ...).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const nodeCalls = new Counter({
    name: 'treffpunkt_edge_node_calls_total',
    help: 'Control calls to media nodes by operation, node, outcome (ok, unreachable, or an error code) and way (via: link for the node link, http).',
    labelNames: ['op', 'node', 'outcome', 'via'],
    registers: [registry],
  });
  const nodeCallSeconds = new Histogram({
    name: 'treffpunkt_edge_node_call_duration_seconds',
    help: 'Control call latency by operation and way (via: link or http).',
    labelNames: ['op', 'via'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'treffpunkt_edge_failovers_total',
    help: 'Participants moved off a failed or draining media node, or left without one (unavailable).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const nodeLosses = new Counter({
    name: 'treffpunkt_edge_node_losses_total',
    help: 'Media nodes the node link found dead, by reason: link closed, link silent (each after a failed health check). Losses found by missing heartbeats are not counted here.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'treffpunkt_edge_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: ok, retry, failed (gave up), dropped (queue full).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'treffpunkt_edge_webhook_queue',
    help: 'Webhook events waiting to be delivered, all receivers.',
    registers: [registry],
    collect() {
      this.set(sources.webhooksQueued());
    },
  });
  new Gauge({
    name: 'treffpunkt_edge_rooms',
    help: 'Rooms open in this edge process.',
    registers: [registry],
    collect() {
      this.set(sources.rooms()?.size ?? 0);
    },
  });
  new Gauge({
    name: 'treffpunkt_edge_participants',
    help: 'Participants in the rooms of this edge process (those waiting to resume included).',
    registers: [registry],
    collect() {
      let n = 0;
      for (const [, room] of sources.rooms()?.rooms() ?? []) n += room.participantCount;
      this.set(n);
    },
  });
  if (sources.roomLabels)
    new Gauge({
      name: 'treffpunkt_edge_room_participants',
      help: 'Participants per room (only with TREFFPUNKT_METRICS_ROOM_LABELS=1: room names may be personal).',
      labelNames: ['room'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, room] of sources.rooms()?.rooms() ?? []) this.set({ room: name }, room.participantCount);
      },
    });
  new Gauge({
    name: 'treffpunkt_edge_media_nodes',
    help: 'Registered media nodes by status (up, draining, lost, pending: unknown right after the edge started).',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = { up: 0, draining: 0, lost: 0, pending: 0 };
      for (const { status } of sources.registry.list(Date.now())) counts[status]++;
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'treffpunkt_edge_node_heartbeat_age_seconds',
    help: 'Seconds since each registered media node last sent a heartbeat.',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const { record } of sources.registry.list(now))
        this.set({ node: record.nodeId }, (now - record.lastHeartbeatAt) / 1000);
    },
  });

  const metrics: EdgeMetrics = {
    request(method, outcome, seconds) {
      requests.inc({ method, outcome });
      requestSeconds.observe({ method }, seconds);
      if (method === 'join') joins.inc({ outcome });
    },
    nodeCall(op, node, outcome, seconds, via) {
      nodeCalls.inc({ op, node, outcome, via });
      nodeCallSeconds.observe({ op, via }, seconds);
    },
    failover(reason) {
      failovers.inc({ reason });
    },
    nodeLoss(reason) {
      nodeLosses.inc({ reason });
    },
    webhook(outcome) {
      webhooks.inc({ outcome });
    },
  };
  return { metrics, registry };
}
