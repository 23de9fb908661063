/**
 * The Node edge: Hono on @hono/node-server, WebSockets via @hono/node-ws, rooms as in-process actors.
 * Run: `node edge/node/entry.ts` (settings from TREFFPUNKT_CONFIG_FILE and the environment, see
 * docs/configuration.md).
 */
import { serve } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { getConnInfo } from '@hono/node-server/conninfo';
import { pino } from 'pino';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Context } from 'hono';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createEdgeApp } from '../core/app.ts';
import { ConfigError, describeIssues, EdgeConfigSchema, parseEdgeConfig } from '../core/config.ts';
import { LINK_PROBE_TIMEOUT_MS, NodeLinks } from '../core/node-links.ts';
import { createEdgeServices } from '../core/services.ts';
// The same TCP check the media node makes of itself at start (one place for it; it needs only node:net).
import { tcpAnswers } from '../../media-node/address-check.ts';
import { loadAssets } from './assets.ts';
import { loadEdgeEnvironment } from './environment.ts';
import { NODE_SECRETS_FILE, NodeSecretsFile, readNodeSecretsFile } from './node-secrets-file.ts';
import { EdgeOps } from './ops.ts';
import { OpsSettingsSchema, parseOpsSettings } from './ops-settings.ts';
import { createNodeRegistry } from './registry-store.ts';
import { reloadOnSignal } from './reload.ts';
import { InProcessRooms } from './room-host.ts';
import { SqliteRoomSnapshots } from './sqlite-room-store.ts';
import { StallWatch } from './stall-watch.ts';
import { openStateDb } from './state-db.ts';
import { createNodeRoomSockets, inProcessSockets } from './websocket.ts';
import { nodeLinkSocket } from './node-link-socket.ts';
import { ClusterRooms } from '../cluster/cluster-rooms.ts';
import { connectClusterNats } from '../cluster/nats.ts';
import { ClusterEnv, parseClusterSettings } from '../cluster/settings.ts';

const NodeEdgeSettings = z.object({
  TREFFPUNKT_EDGE_HOST: z
    .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address or localhost' })
    .default('127.0.0.1'),
  TREFFPUNKT_EDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TREFFPUNKT_WEB_DIR: z.string().default(fileURLToPath(new URL('../../dist/web', import.meta.url))),
  TREFFPUNKT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // Restart-safe by default (issue 12): a lone edge that restarts within the resume grace ends no
  // meeting. Relative to the working directory; `:memory:` opts out (rooms end with the process).
  TREFFPUNKT_STATE_FILE: z.string().min(1).default(join('.treffpunkt', 'edge-state.sqlite')),
  // HTTPS without a reverse proxy: browsers give camera and microphone only to secure pages, and a page
  // off localhost is secure only over https (`npm start -- --lan` generates a local certificate).
  TREFFPUNKT_EDGE_TLS_CERT_FILE: z.string().min(1).optional(),
  TREFFPUNKT_EDGE_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Media node credentials in a file the edge watches (node-secrets-file.ts), instead of TREFFPUNKT_NODE_SECRETS. */
  TREFFPUNKT_NODE_SECRETS_FILE: z.string().min(1).optional(),
  /**
   * How control calls reach a media node (issue 14): `link` over its node link when this edge holds one
   * that serves calls, else signed HTTP; `http` always signed HTTP (the way before node links carried calls).
   */
  TREFFPUNKT_NODE_CONTROL: z.enum(['link', 'http'], { error: 'must be link or http' }).default('link'),
});

/** SIGTERM: how long the edge waits for sockets to close and HTTP requests to finish before it exits anyway. */
const SHUTDOWN_BOUND_MS = 5_000;

/** Every name the Node edge reads: a config file naming another is refused (a typo). */
const KNOWN_SETTINGS = new Set([
  'TREFFPUNKT_CONFIG_FILE',
  ...Object.keys(EdgeConfigSchema.shape),
  ...Object.keys(NodeEdgeSettings.shape),
  ...Object.keys(OpsSettingsSchema.shape),
  ...Object.keys(ClusterEnv.shape),
]);

export async function startNodeEdge(processEnv: Record<string, string | undefined> = process.env) {
  // TREFFPUNKT_CONFIG_FILE, then the environment, then *_FILE secrets (environment.ts).
  const readSettings = () => loadEdgeEnvironment(processEnv, KNOWN_SETTINGS);
  const env = readSettings();
  const opsSettings = parseOpsSettings(env);
  const settings = NodeEdgeSettings.safeParse(env);
  if (!settings.success) throw new ConfigError(describeIssues(settings.error));
  const secretsFile = settings.data.TREFFPUNKT_NODE_SECRETS_FILE;
  if (secretsFile && env.TREFFPUNKT_NODE_SECRETS)
    throw new ConfigError([`set either TREFFPUNKT_NODE_SECRETS or ${NODE_SECRETS_FILE}, not both`]);
  const config = parseEdgeConfig(
    secretsFile ? { ...env, TREFFPUNKT_NODE_SECRETS: readNodeSecretsFile(secretsFile) } : env,
  );
  const clusterSettings = parseClusterSettings(env);
  const {
    TREFFPUNKT_EDGE_HOST: host,
    TREFFPUNKT_EDGE_PORT: port,
    TREFFPUNKT_WEB_DIR: webDir,
    TREFFPUNKT_LOG_LEVEL: level,
    TREFFPUNKT_STATE_FILE: stateFile,
    TREFFPUNKT_EDGE_TLS_CERT_FILE: certFile,
    TREFFPUNKT_EDGE_TLS_KEY_FILE: keyFile,
    TREFFPUNKT_NODE_CONTROL: nodeControl,
  } = settings.data;
  if (!certFile !== !keyFile)
    throw new ConfigError(['TREFFPUNKT_EDGE_TLS_CERT_FILE and TREFFPUNKT_EDGE_TLS_KEY_FILE: set both or neither']);
  const tls = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
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
  // A lone edge keeps its rooms and its registry in its state file; a cluster edge keeps both in NATS.
  const persistent = !clusterSettings && stateFile !== ':memory:';
  // The file holds display names and node secrets: its directory, when we create it, is the edge user's alone.
  if (persistent) mkdirSync(dirname(resolve(stateFile)), { recursive: true, mode: 0o700 });
  const stateDb = clusterSettings ? undefined : openStateDb(stateFile);
  // TREFFPUNKT_NATS_URL set: rooms and the registry are shared with the other edges (docs/edge-cluster.md).
  const clusterNats = clusterSettings ? await connectClusterNats(clusterSettings, log) : undefined;
  const nodeRegistry = await createNodeRegistry({
    heartbeatTimeoutMs: config.nodeHeartbeatTimeoutMs,
    log,
    db: persistent ? stateDb : undefined,
    nats: clusterNats?.nc,
    replicas: clusterSettings?.replicas,
    // Restored rooms must not fail over before their nodes had a chance to register again (node-registry.ts).
    startedAt: persistent ? Date.now() : undefined,
  });
  const { registry } = nodeRegistry;
  log.info({ registry: nodeRegistry.kind }, 'media node registry');
  // A stall longer than a heartbeat interval can make a node look silent (issue 13).
  const stall = new StallWatch(config.nodeCheckIntervalMs, log).start();
  const ops = new EdgeOps(opsSettings, registry, log);
  // Node links (issue 14): a node's death is known when its link closes or falls silent, not only when
  // its heartbeats stop; and control calls to a node travel over its link when this edge holds it (one
  // connection, no HTTP request per call). Whoever records a loss or a drain (this edge, or another
  // through NATS), the rooms here check their nodes at once (registry.onLeave below).
  const links =
    config.nodeLinkSilenceMs > 0
      ? new NodeLinks({
          silenceMs: config.nodeLinkSilenceMs,
          // `services` exists by the time a link opens (after the server listens).
          probe: (nodeId) => services.room.nodes.probe(nodeId, LINK_PROBE_TIMEOUT_MS),
          lose: async (nodeId, reason) => {
            if (!(await registry.lose(nodeId, reason, Date.now()))) return;
            ops.metrics.nodeLoss(reason);
            log.warn({ node: nodeId, reason }, 'media node lost: its link ended and its health check failed');
          },
          // Rooms may leave a silent node make-before-break before the verdict (room/failover.ts).
          unresponsive: (nodeId) => {
            log.warn({ node: nodeId }, 'media node link silent: checking its health; rooms may leave it');
            (cluster ?? rooms).checkNodesNow();
          },
          log,
        })
      : undefined;
  const services = createEdgeServices(config, registry, log, {
    metrics: ops.metrics,
    webhooks: ops.webhooks,
    stall,
    ...(links && nodeControl === 'link' ? { controlLinks: links } : {}),
    ...(links ? { nodeWatch: links } : {}),
  });
  log.info({ nodeControl: links && nodeControl === 'link' ? 'link' : 'http' }, 'media node control calls');
  const rooms = new InProcessRooms(services, stateDb && new SqliteRoomSnapshots(stateDb));
  // Before listening: every saved room is loading (its grace running) when the first client resumes.
  const restored = rooms.restoreSaved();
  if (persistent) log.info({ stateFile, rooms: restored }, 'room state file opened');
  const cluster =
    clusterSettings && clusterNats
      ? new ClusterRooms({
          services,
          nats: clusterNats,
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

  registry.onLeave((nodeId, why) => {
    if (why === 'lost') services.room.nodes.abortCalls(nodeId);
    (cluster ?? rooms).checkNodesNow();
  });

  let sockets: ReturnType<typeof createNodeRoomSockets> | undefined;
  let linkSocket: ReturnType<typeof nodeLinkSocket> | undefined;
  const app = createEdgeApp({
    config,
    registry,
    log,
    admin: await ops.admin(rooms, credentials),
    adapter: {
      roomSocket: (c, room, addressKey) => sockets!.roomSocket(c, room, addressKey),
      ...(links ? { nodeLink: (c: Context, nodeId: string) => linkSocket!(c, nodeId) } : {}),
      roomEvent: (room, nodeId, event) => (cluster ?? rooms).event(room, nodeId, event),
      // A lone edge has every room in this process (a restart wakes all saved ones at once); in a cluster a
      // room may live on another edge: the node keeps them all (its reaper is the backstop).
      ...(cluster ? {} : { roomsInUse: async (_nodeId: string, names: readonly string[]) => rooms.roomsInUse(names) }),
      clientAddress: (c) => getConnInfo(c).remote.address,
      tcpAnswers,
      asset,
      compression: 'precompressed',
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
  if (links) linkSocket = nodeLinkSocket(sockets.upgradeWebSocket, links, log);

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const options = tls
      ? { fetch: app.fetch, hostname: host, port, createServer: createHttpsServer, serverOptions: tls }
      : { fetch: app.fetch, hostname: host, port };
    const s = serve(options, () => resolve(s));
  });
  sockets.injectWebSocket(server);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  log.info(
    { host, port: boundPort },
    `edge listening on ${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}/`,
  );
  const metricsPort = await ops.listen();
  const reload = reloadOnSignal(readSettings, services, log);
  /**
   * Stops the edge so that nobody's meeting notices more than a reconnect (issue 13). A cluster edge
   * hands its rooms over to the other edges (a rolling restart drops nobody); a lone edge takes no new
   * room sockets, closes every open one with 1012 (clients resume on the restarted edge) and saves the
   * rooms — while the HTTP server still answers media nodes' heartbeats, so no room declares its node
   * lost. Then the server closes; whatever is still open after `boundMs` is cut.
   */
  const close = async (boundMs = SHUTDOWN_BOUND_MS) => {
    const deadline = Date.now() + boundMs;
    // First: the links this stop closes are no deaths of their nodes.
    links?.stop();
    if (cluster) await cluster.shutdown();
    else await rooms.shutdown(boundMs / 2);
    const http = server as Server;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => http.close(() => r())),
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    http.closeAllConnections();
    await ops.close();
    nodeRegistry.stop();
    stall.stop();
    credentials?.stop();
    await clusterNats?.nc.drain();
    stateDb?.close();
    log.info({}, 'edge stopped');
  };
  return { server, port: boundPort, metricsPort, reload, rooms, cluster, registry, close };
}

if (import.meta.main) {
  startNodeEdge().then(
    (edge) => {
      const stop = () =>
        edge.close().then(
          () => process.exit(0),
          (err) => {
            console.error(err);
            process.exit(1);
          },
        );
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err) => {
      console.error(err instanceof ConfigError ? `treffpunkt edge: ${err.message}` : err);
      process.exit(1);
    },
  );
}
