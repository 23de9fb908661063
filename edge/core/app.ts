/**
 * The edge's HTTP surface, runtime-neutral: the web app, the room WebSocket route, the media node
 * registry and health. Runtime adapters (edge/node, edge/cloudflare) supply what differs: how a
 * WebSocket is upgraded and handed to the room's actor, and how static assets are read; what rooms are
 * given is wired once for both (services.ts).
 */
import { Hono, type Context } from 'hono';
import { etag } from 'hono/etag';
import type { MediaEvent } from '../../shared/control.ts';
import { ErrorCode, httpStatusOf, TreffpunktError } from '../../shared/errors.ts';
import { EDGE_LIST_PATH, type EdgeList } from '../../shared/edge-list.ts';
import { RoomName } from '../../shared/ids.ts';
import type { EdgeConfig } from './config.ts';
import { addressKey, addressPseudonym, KeyedRateLimiter } from './rate-limit.ts';
import { cacheControlFor, compressedPath, preferredEncoding } from './asset-encoding.ts';
import { contentTypeFor } from './content-types.ts';
import { errorFields, type Logger } from './logger.ts';
import type { TokenCheck } from '../../shared/token-check.ts';
import { type AdminBackend, registerAdminRoutes } from './admin/routes.ts';
import type { NodeRegistry } from './node-registry.ts';
import { registerNodeRoutes } from './node-routes.ts';

export interface EdgeAdapter {
  /**
   * Upgrades the request to a WebSocket served by the actor of `room`. `addressKey` (see addressKey()):
   * the adapter refuses the upgrade with socketLimitResponse() when that address already holds
   * TREFFPUNKT_SOCKETS_PER_ADDRESS open sockets — only the adapter sees when sockets close.
   */
  roomSocket(c: Context, room: string, addressKey: string | undefined): Response | Promise<Response>;
  /** The client's address for per-address limits, where the runtime knows it. */
  clientAddress(c: Context): string | undefined;
  /** Hands a media node's event to the actor of `room` (if the room exists). */
  roomEvent(room: string, nodeId: string, event: MediaEvent): Promise<void>;
  /** Reads a static asset of the browser app ('/index.html', '/assets/app-<hash>.js'), or null if none. */
  asset(path: string): Promise<ArrayBuffer | null>;
  /**
   * How responses get compressed. 'precompressed': the asset source also holds the build's `.br`/`.gz`
   * twin of each text file (the Node edge reads dist/web), and the edge sends the twin. 'runtime': the
   * runtime compresses a body itself when the response names a Content-Encoding (workerd and Cloudflare
   * do, with their default `encodeBody: "automatic"`), so the edge sends the plain file and the header.
   */
  compression: 'precompressed' | 'runtime';
  /**
   * Which of `rooms` still exist, for a media node reconciling after its (re)registration: it closes the
   * others. Absent: the runtime cannot tell cheaply (waking every Durable Object), so the node keeps them
   * all and its reaper (media-node/reaper.ts) frees what nobody uses.
   */
  roomsInUse?(nodeId: string, rooms: readonly string[]): Promise<string[]>;
  /**
   * Upgrades an authenticated media node's request to its node link (shared/node-link.ts), served by the
   * edge's NodeLinks. Absent: the runtime has no links (the Worker, for now); nodes rely on heartbeats.
   */
  nodeLink?(c: Context, nodeId: string): Response | Promise<Response>;
  /**
   * Whether a TCP connection to host:port opens (a node's announced media address, checked after its
   * registration). Absent: the runtime does not check.
   */
  tcpAnswers?(host: string, port: number): Promise<boolean>;
}

export interface EdgeAppOptions {
  config: EdgeConfig;
  registry: NodeRegistry;
  adapter: EdgeAdapter;
  log: Logger;
  /** The admin API (admin/routes.ts), where the runtime has a backend and an admin token is configured. */
  admin?: { token: TokenCheck; backend: AdminBackend };
}

/**
 * The CSP of the web app: nothing from other origins, no inline script, no framing — except room
 * sockets to the deployment's other edges (TREFFPUNKT_EDGE_URLS), which the app reconnects to.
 */
export function contentSecurityPolicy(edgeUrls: readonly string[] = []): string {
  const sockets = edgeUrls.map((origin) => origin.replace(/^http/, 'ws'));
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    ["connect-src 'self'", ...sockets].join(' '),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The CSP of a deployment without other edges. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** The refusal of a socket beyond TREFFPUNKT_SOCKETS_PER_ADDRESS, the same on every runtime. */
export function socketLimitResponse(limit: number): Response {
  return Response.json(
    {
      error: { code: ErrorCode.RateLimited, message: `too many open connections from your address (at most ${limit})` },
    },
    { status: httpStatusOf(ErrorCode.RateLimited) },
  );
}

/** Logs a refused socket (pseudonymous: a salted hash of the address, see addressPseudonym). */
export async function logSocketLimit(log: Logger, key: string, room: string): Promise<void> {
  log.warn(
    { security: true, event: 'socketsPerAddress', room, address: await addressPseudonym(key) },
    'security: too many open sockets from one address, upgrade refused',
  );
}

export function createEdgeApp({ config, registry, adapter, log, admin }: EdgeAppOptions): Hono {
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Content-Type-Options', 'nosniff');
    // HSTS only over TLS (directly, or behind a proxy that says so): over plain HTTP it means nothing.
    if (new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https') {
      c.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    }
  });

  app.onError((err, c) => {
    if (err instanceof TreffpunktError)
      return c.json({ error: { code: err.code, message: err.message } }, httpStatusOf(err.code));
    log.error({ path: c.req.path, ...errorFields(err) }, 'unhandled request error');
    return c.json({ error: { code: ErrorCode.Internal, message: 'Internal error' } }, 500);
  });
  // A person who opens a wrong address (a mistyped room link) gets the app, which explains and offers a
  // valid room, with the 404 status; programs get the JSON error (issue 15: a raw JSON page before).
  const wantsPage = (c: Context) => c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
  app.notFound((c) =>
    wantsPage(c)
      ? page(c, '/index.html', 404)
      : c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, httpStatusOf(ErrorCode.NotFound)),
  );

  app.get('/healthz', async (c) => c.json({ ok: true, mediaNodes: (await registry.healthy(Date.now())).length }));

  const connections = new KeyedRateLimiter(config.connectionsPerMinute / 60, config.connectionsPerMinute);
  app.get('/rooms/:room/ws', async (c) => {
    const room = RoomName.safeParse(c.req.param('room'));
    if (!room.success)
      return c.json(
        { error: { code: ErrorCode.BadMessage, message: room.error.issues[0]?.message ?? 'bad room name' } },
        httpStatusOf(ErrorCode.BadMessage),
      );
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return c.json({ error: { code: ErrorCode.BadMessage, message: 'expected a WebSocket upgrade' } }, 426);
    }
    const address = adapter.clientAddress(c);
    const key = address === undefined ? undefined : addressKey(address);
    if (key !== undefined && !connections.take(key)) {
      // Once per burst: a flood of refusals must not become a flood of log lines.
      if (connections.refusedInARow(key) === 1)
        log.warn(
          { security: true, event: 'connectionsPerAddress', room: room.data, address: await addressPseudonym(key) },
          'security: too many new connections from one address, refused',
        );
      return c.json(
        { error: { code: ErrorCode.RateLimited, message: 'too many new connections from your address' } },
        httpStatusOf(ErrorCode.RateLimited),
      );
    }
    return adapter.roomSocket(c, room.data, key);
  });

  // --- media node registry and events (requests signed with the node's own secret) ---
  registerNodeRoutes(app, { config, registry, adapter, log });

  // --- the admin API (token required; absent without one) ---
  if (admin) registerAdminRoutes(app, { ...admin, log });

  // --- the browser app ---
  const csp = contentSecurityPolicy(config.edgeUrls);
  app.get(EDGE_LIST_PATH, (c) => c.json({ edges: [...config.edgeUrls] } satisfies EdgeList));
  const page = async (c: Context, path: string, status: 200 | 404 = 200) => {
    const encoding = preferredEncoding(path, c.req.header('accept-encoding'));
    // 'precompressed': send the build's twin when there is one (a build without twins still works,
    // uncompressed); 'runtime': send the plain file and name the encoding, the runtime compresses it.
    const twin =
      encoding && adapter.compression === 'precompressed' ? await adapter.asset(compressedPath(path, encoding)) : null;
    const body = twin ?? (await adapter.asset(path));
    if (!body)
      return c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, httpStatusOf(ErrorCode.NotFound));
    c.header('Content-Type', contentTypeFor(path));
    c.header('Content-Security-Policy', csp);
    c.header('Permissions-Policy', 'camera=(self), microphone=(self), display-capture=(self)');
    c.header('Cache-Control', cacheControlFor(path));
    c.header('Vary', 'Accept-Encoding');
    if (encoding && (twin || adapter.compression === 'runtime')) c.header('Content-Encoding', encoding);
    return c.body(body, status);
  };
  app.get('/assets/:file', (c) => page(c, `/assets/${c.req.param('file')}`));
  // The HTML is revalidated on every visit: a returning visitor gets a 304 for it and, since the files it
  // names are cached as immutable, loads nothing else.
  app.get('/', etag({ weak: true }), (c) => page(c, '/index.html'));
  app.get('/:room', etag({ weak: true }), (c) =>
    RoomName.safeParse(c.req.param('room')).success ? page(c, '/index.html') : c.notFound(),
  );

  return app;
}
