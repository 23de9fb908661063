/**
 * What the Node edge adds for operators (issue 17), wired in one place so entry.ts stays small: the
 * Prometheus metrics and their listener, the webhook queue, and the admin API's token and backend. Made
 * before the rooms (they report to the metrics and the webhooks), attached to them once they exist.
 */
import { serve } from '@hono/node-server';
import type { Logger as Pino } from 'pino';
import { metricsApp } from '../../shared/metrics-endpoint.ts';
import { tokenCheck, type TokenCheck } from '../../shared/token-check.ts';
import type { AdminBackend } from '../core/admin/routes.ts';
import { type EdgeMetrics, noMetrics } from '../core/metrics.ts';
import type { ListableNodeRegistry } from '../core/node-registry.ts';
import { noWebhooks, WebhookQueue, type WebhookSink } from '../core/webhooks/queue.ts';
import { nodeAdminBackend } from './admin.ts';
import type { NodeSecretsFile } from './node-secrets-file.ts';
import { createEdgeMetrics } from './metrics.ts';
import type { OpsSettings } from './ops-settings.ts';
import type { InProcessRooms } from './room-host.ts';

export class EdgeOps {
  readonly metrics: EdgeMetrics;
  readonly webhooks: WebhookSink;
  readonly #settings: OpsSettings;
  readonly #registry: ListableNodeRegistry;
  readonly #log: Pino;
  readonly #render: (() => Promise<{ body: string; contentType: string }>) | undefined;
  readonly #queue: WebhookQueue | undefined;
  #rooms: InProcessRooms | undefined;
  #server: ReturnType<typeof serve> | undefined;

  constructor(settings: OpsSettings, registry: ListableNodeRegistry, log: Pino) {
    this.#settings = settings;
    this.#registry = registry;
    this.#log = log;
    // Without a listener nothing would read the metrics: none are kept (the join benchmark's baseline).
    let metrics: EdgeMetrics = noMetrics;
    if (settings.TREFFPUNKT_METRICS_ADDR) {
      const made = createEdgeMetrics({
        rooms: () => this.#rooms,
        registry,
        webhooksQueued: () => this.#queue?.queued ?? 0,
        roomLabels: settings.TREFFPUNKT_METRICS_ROOM_LABELS,
      });
      metrics = made.metrics;
      this.#render = async () => ({ body: await made.registry.metrics(), contentType: made.registry.contentType });
    }
    this.metrics = metrics;
    if (settings.TREFFPUNKT_WEBHOOKS.length > 0) {
      this.#queue = new WebhookQueue({
        receivers: settings.TREFFPUNKT_WEBHOOKS,
        log: log.child({ component: 'webhooks' }),
        metrics,
        personalData: settings.TREFFPUNKT_WEBHOOK_PERSONAL_DATA,
        maxQueued: settings.TREFFPUNKT_WEBHOOK_QUEUE,
        maxAttempts: settings.TREFFPUNKT_WEBHOOK_MAX_ATTEMPTS,
        baseDelayMs: settings.TREFFPUNKT_WEBHOOK_RETRY_MS,
        timeoutMs: settings.TREFFPUNKT_WEBHOOK_TIMEOUT_MS,
      });
    }
    this.webhooks = this.#queue ?? noWebhooks;
  }

  /** The admin API's token check and backend, or undefined without TREFFPUNKT_ADMIN_TOKEN (no routes). */
  async admin(
    rooms: InProcessRooms,
    credentials?: NodeSecretsFile,
  ): Promise<{ token: TokenCheck; backend: AdminBackend } | undefined> {
    this.#rooms = rooms;
    const token = this.#settings.TREFFPUNKT_ADMIN_TOKEN;
    if (!token) return undefined;
    return { token: await tokenCheck(token), backend: nodeAdminBackend(rooms, this.#registry, this.#log, credentials) };
  }

  /** Starts the metrics listener if TREFFPUNKT_METRICS_ADDR is set; the port bound (0 asks for a free one). */
  async listen(): Promise<number | undefined> {
    const addr = this.#settings.TREFFPUNKT_METRICS_ADDR;
    if (!addr || !this.#render) return undefined;
    const token = this.#settings.TREFFPUNKT_METRICS_TOKEN;
    const app = metricsApp(this.#render, token ? await tokenCheck(token) : undefined);
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: addr.host, port: addr.port }, () => resolve(s));
      s.once('error', reject);
    });
    this.#server = server;
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    this.#log.info({ host: addr.host, port, protected: token !== undefined }, 'metrics listening on /metrics');
    return port;
  }

  async close(): Promise<void> {
    this.#queue?.close();
    const server = this.#server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
