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
import { createEdgeServices } from '../core/services.ts';
import { connectNats } from '../cluster/nats-connection.ts';
// The same TCP check the media node makes of itself at start (one place for it; it needs only node:net).
import { tcpAnswers } from '../../media-node/address-check.ts';
import { loadAssets } from './assets.ts';
import { NODE_SECRETS_FILE, NodeSecretsFile, readNodeSecretsFile } from './node-secrets-file.ts';
import { createNodeRegistry } from './registry-store.ts';
import { InProcessRooms } from './room-host.ts';
import { StallWatch } from './stall-watch.ts';
import { openStateDb } from './state-db.ts';
import { createNodeRoomSockets } from './websocket.ts';

const NodeEdgeSettings = z.object({
  TREFFPUNKT_EDGE_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address or localhost' })
    .default('127.0.0.1'),
  TREFFPUNKT_EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TREFFPUNKT_WEB_DIR: z.string().default(fileURLToPath(new URL('../../dist/web', import.meta.url))),
  TREFFPUNKT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Media node credentials in a file the edge watches (node-secrets-file.ts), instead of TREFFPUNKT_NODE_SECRETS. */
  TREFFPUNKT_NODE_SECRETS_FILE: z.string().min(1).optional(),
  /** A lone edge's state file (state-db.ts): the registry (and room snapshots) survive a restart. */
  TREFFPUNKT_STATE_FILE: z.string().min(1).optional(),
  /** The edge cluster's NATS servers, comma-separated nats:// URLs: the registry is shared (docs/edge-cluster.md). */
  TREFFPUNKT_NATS_URL: z
    .string()
    .optional()
    .transform((raw) =>
      (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (urls) => urls.every((u) => /^(nats|tls):\/\/[^\s/]+$/.test(u)),
      'must be nats://host:port URLs, comma-separated',
    ),
});

export async function startNodeEdge(env: Record<string, string | undefined> = process.env) {
  const settings = NodeEdgeSettings.safeParse(env);
  if (!settings.success) throw new ConfigError(describeIssues(settings.error));
  const secretsFile = settings.data.TREFFPUNKT_NODE_SECRETS_FILE;
  if (secretsFile && env.TREFFPUNKT_NODE_SECRETS)
    throw new ConfigError([`set either TREFFPUNKT_NODE_SECRETS or ${NODE_SECRETS_FILE}, not both`]);
  const config = parseEdgeConfig(
    secretsFile ? { ...env, TREFFPUNKT_NODE_SECRETS: readNodeSecretsFile(secretsFile) } : env,
  );
  const {
    TREFFPUNKT_EDGE_HOST: host,
    TREFFPUNKT_EDGE_PORT: port,
    TREFFPUNKT_WEB_DIR: webDir,
    TREFFPUNKT_LOG_LEVEL: level,
    TREFFPUNKT_STATE_FILE: stateFile,
    TREFFPUNKT_NATS_URL: natsUrls,
  } = settings.data;
  const log = pino({ level, base: { service: 'edge' }, redact: ['*.secret', '*.authorization', 'secret'] });

  if (config.allowInsecureHttp)
    log.warn(
      {},
      'TREFFPUNKT_ALLOW_INSECURE_HTTP is set: media nodes may register plain http control URLs beyond loopback, readable on the way',
    );
  const credentials = secretsFile
    ? new NodeSecretsFile(
        secretsFile,
        { secrets: config.nodeSecrets, pins: config.nodePins },
        config.allowInsecureHttp,
        log,
      ).start()
    : undefined;
  const nats = natsUrls.length > 0 ? await connectNats(natsUrls, log) : undefined;
  const nodeRegistry = await createNodeRegistry({
    heartbeatTimeoutMs: config.nodeHeartbeatTimeoutMs,
    log,
    db: stateFile ? openStateDb(stateFile) : undefined,
    nats,
  });
  const { registry } = nodeRegistry;
  log.info({ registry: nodeRegistry.kind }, 'media node registry');
  // A stall longer than a heartbeat interval can make a node look silent (issue 13).
  const stall = new StallWatch(config.nodeCheckIntervalMs, log).start();
  const rooms = new InProcessRooms(createEdgeServices(config, registry, log, { stall }));
  const asset = await loadAssets(webDir);

  let sockets: ReturnType<typeof createNodeRoomSockets> | undefined;
  const app = createEdgeApp({
    config,
    registry,
    log,
    adapter: {
      roomSocket: (c, room, addressKey) => sockets!.roomSocket(c, room, addressKey),
      roomEvent: (room, nodeId, event) => rooms.event(room, nodeId, event),
      // Only the in-memory host knows all its rooms; with a state file or a cluster, rooms live in the
      // room store too, and a room not loaded yet is not gone: the node keeps them (its reaper is the backstop).
      ...(stateFile || nats
        ? {}
        : { roomsInUse: async (_nodeId: string, names: readonly string[]) => rooms.roomsInUse(names) }),
      clientAddress: (c) => getConnInfo(c).remote.address,
      tcpAnswers,
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
  const close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    nodeRegistry.stop();
    stall.stop();
    credentials?.stop();
    await nats?.drain();
  };
  return { server, port: boundPort, rooms, registry, close };
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
