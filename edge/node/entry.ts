/**
 * The Node edge: Hono on @hono/node-server, WebSockets via @hono/node-ws, rooms as in-process actors.
 * Run: `node edge/node/entry.ts` (settings from TREFFPUNKT_CONFIG_FILE and the environment, see
 * docs/configuration.md).
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createEdgeApp } from '../core/app.ts';
import { ConfigError, describeIssues, EdgeConfigSchema, parseEdgeConfig } from '../core/config.ts';
import { InMemoryNodeRegistry } from '../core/node-registry.ts';
import { createEdgeServices } from '../core/services.ts';
import { loadAssets } from './assets.ts';
import { loadEdgeEnvironment } from './environment.ts';
import { EdgeOps } from './ops.ts';
import { OpsSettingsSchema, parseOpsSettings } from './ops-settings.ts';
import { reloadOnSignal } from './reload.ts';
import { InProcessRooms } from './room-host.ts';
import { createNodeRoomSockets } from './websocket.ts';

const NodeEdgeSettings = z.object({
  TREFFPUNKT_EDGE_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address or localhost' })
    .default('127.0.0.1'),
  TREFFPUNKT_EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TREFFPUNKT_WEB_DIR: z.string().default(fileURLToPath(new URL('../../dist/web', import.meta.url))),
  TREFFPUNKT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

/** Every name the Node edge reads: a config file naming another is refused (a typo). */
const KNOWN_SETTINGS = new Set([
  'TREFFPUNKT_CONFIG_FILE',
  ...Object.keys(EdgeConfigSchema.shape),
  ...Object.keys(NodeEdgeSettings.shape),
  ...Object.keys(OpsSettingsSchema.shape),
]);

export async function startNodeEdge(processEnv: Record<string, string | undefined> = process.env) {
  // TREFFPUNKT_CONFIG_FILE, then the environment, then *_FILE secrets (environment.ts).
  const readSettings = () => loadEdgeEnvironment(processEnv, KNOWN_SETTINGS);
  const env = readSettings();
  const opsSettings = parseOpsSettings(env);
  const settings = NodeEdgeSettings.safeParse(env);
  if (!settings.success) throw new ConfigError(describeIssues(settings.error));
  const config = parseEdgeConfig(env);
  const {
    TREFFPUNKT_EDGE_HOST: host,
    TREFFPUNKT_EDGE_PORT: port,
    TREFFPUNKT_WEB_DIR: webDir,
    TREFFPUNKT_LOG_LEVEL: level,
  } = settings.data;
  const log = pino({ level, base: { service: 'edge' }, redact: ['*.secret', '*.authorization', 'secret'] });

  if (config.allowInsecureHttp)
    log.warn(
      {},
      'TREFFPUNKT_ALLOW_INSECURE_HTTP is set: media nodes may register plain http control URLs beyond loopback, readable on the way',
    );
  const registry = new InMemoryNodeRegistry(config.nodeHeartbeatTimeoutMs);
  const ops = new EdgeOps(opsSettings, registry, log);
  const services = createEdgeServices(config, registry, log, { metrics: ops.metrics, webhooks: ops.webhooks });
  const rooms = new InProcessRooms(services);
  const asset = await loadAssets(webDir);

  let sockets: ReturnType<typeof createNodeRoomSockets> | undefined;
  const app = createEdgeApp({
    config,
    registry,
    log,
    admin: await ops.admin(rooms),
    adapter: {
      roomSocket: (c, room, addressKey) => sockets!.roomSocket(c, room, addressKey),
      roomEvent: (room, nodeId, event) => rooms.event(room, nodeId, event),
      clientAddress: (c) => getConnInfo(c).remote.address,
      asset,
    },
  });
  // ws refuses frames over 2 MiB outright; up to that the room answers MESSAGE_TOO_LARGE.
  sockets = createNodeRoomSockets(
    app,
    rooms,
    Math.max(2 * 1024 * 1024, config.maxMessageBytes * 2),
    log,
    config.socketsPerAddress,
  );

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
  });
  sockets.injectWebSocket(server);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  log.info(
    { host, port: boundPort },
    `edge listening on http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/`,
  );
  const metricsPort = await ops.listen();
  const reload = reloadOnSignal(readSettings, services, log);
  return {
    server,
    port: boundPort,
    metricsPort,
    reload,
    rooms,
    registry,
    close: () => Promise.all([new Promise<void>((r) => server.close(() => r())), ops.close()]).then(() => {}),
  };
}

if (import.meta.main) {
  startNodeEdge().then(
    (edge) => {
      const stop = () => edge.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err) => {
      console.error(err instanceof ConfigError ? `treffpunkt edge: ${err.message}` : err);
      process.exit(1);
    },
  );
}
