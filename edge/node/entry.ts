/**
 * The Node edge: Hono on @hono/node-server, WebSockets via @hono/node-ws, rooms as in-process actors.
 * Run: `node edge/node/entry.ts` (settings from the environment, see docs/configuration.md).
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createEdgeApp } from '../core/app.ts';
import { ConfigError, describeIssues, parseEdgeConfig } from '../core/config.ts';
import { InMemoryNodeRegistry } from '../core/node-registry.ts';
import { createEdgeServices } from '../core/services.ts';
import { loadAssets } from './assets.ts';
import { InProcessRooms } from './room-host.ts';
import { createNodeRoomSockets, inProcessSockets } from './websocket.ts';
import { ClusterRooms } from '../cluster/cluster-rooms.ts';
import { connectClusterNats } from '../cluster/nats.ts';
import { parseClusterSettings } from '../cluster/settings.ts';

const NodeEdgeSettings = z.object({
  TREFFPUNKT_EDGE_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address or localhost' })
    .default('127.0.0.1'),
  TREFFPUNKT_EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TREFFPUNKT_WEB_DIR: z.string().default(fileURLToPath(new URL('../../dist/web', import.meta.url))),
  TREFFPUNKT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export async function startNodeEdge(env: Record<string, string | undefined> = process.env) {
  const settings = NodeEdgeSettings.safeParse(env);
  if (!settings.success) throw new ConfigError(describeIssues(settings.error));
  const config = parseEdgeConfig(env);
  const clusterSettings = parseClusterSettings(env);
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
  const services = createEdgeServices(config, registry, log);
  const rooms = new InProcessRooms(services);
  // TREFFPUNKT_NATS_URL set: rooms are shared with the other edges of the cluster (docs/edge-cluster.md).
  const cluster = clusterSettings
    ? new ClusterRooms({
        services,
        nats: await connectClusterNats(clusterSettings, log),
        settings: clusterSettings,
        log,
        maxMessageBytes: config.maxMessageBytes,
      })
    : undefined;
  if (cluster) {
    cluster.start();
    log.info({ edge: cluster.edgeId, nats: clusterSettings?.servers }, 'edge cluster mode');
  }
  const asset = await loadAssets(webDir);

  let sockets: ReturnType<typeof createNodeRoomSockets> | undefined;
  const app = createEdgeApp({
    config,
    registry,
    log,
    adapter: {
      roomSocket: (c, room, addressKey) => sockets!.roomSocket(c, room, addressKey),
      roomEvent: (room, nodeId, event) => (cluster ?? rooms).event(room, nodeId, event),
      clientAddress: (c) => getConnInfo(c).remote.address,
      asset,
    },
  });
  // ws refuses frames over 2 MiB outright; up to that the room answers MESSAGE_TOO_LARGE.
  sockets = createNodeRoomSockets(
    app,
    cluster ?? inProcessSockets(rooms),
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
  return {
    server,
    port: boundPort,
    rooms,
    cluster,
    registry,
    close: async () => {
      // A cluster edge hands its rooms over first (SIGTERM: a rolling restart drops nobody).
      await cluster?.shutdown();
      await new Promise<void>((r) => server.close(() => r()));
    },
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
