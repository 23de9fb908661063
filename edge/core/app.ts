/**
 * The edge's HTTP surface, runtime-neutral: the web app, the room WebSocket route, the media node
 * registry and health. Runtime adapters (edge/node, later edge/cloudflare) supply what differs: how a
 * WebSocket is upgraded and handed to the room's actor, and how static assets are read.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { NodeDrain, NodeEventBody, NodeHeartbeat, NodeRegistration, type MediaEvent, type NodeLoad } from '../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { RoomName } from '../../shared/signaling.ts';
import { authenticateRequest, NODE_HEADER, RequestRefused } from '../../shared/request-signing.ts';
import type { EdgeConfig } from './config.ts';
import { KeyedRateLimiter } from './rate-limit.ts';
import { contentTypeFor } from './content-types.ts';
import { errorFields, type Logger } from './logger.ts';
import type { NodeRegistry } from './node-registry.ts';
import { NodeGuard, type NodeRequestKind } from './node-guard.ts';
import { ThrottledWarnings } from '../../shared/throttled-warnings.ts';
import { checkRegistration, RegistrationRefused } from './node-identity.ts';

export interface EdgeAdapter {
  /** Upgrades the request to a WebSocket served by the actor of `room`. */
  roomSocket(c: Context, room: string): Response | Promise<Response>;
  /** The client's address for per-address limits, where the runtime knows it. */
  clientAddress(c: Context): string | undefined;
  /** Hands a media node's event to the actor of `room` (if the room exists). */
  roomEvent(room: string, nodeId: string, event: MediaEvent): Promise<void>;
  /** Reads a static asset of the browser app ('/index.html', '/assets/app.js'), or null if none. */
  asset(path: string): Promise<ArrayBuffer | null>;
}

export interface EdgeAppOptions {
  config: EdgeConfig;
  registry: NodeRegistry;
  adapter: EdgeAdapter;
  log: Logger;
}

/** The CSP of the web app: nothing from other origins, no inline script, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function createEdgeApp({ config, registry, adapter, log }: EdgeAppOptions): Hono {
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
    if (err instanceof TreffpunktError) {
      const status = STATUS[err.code] ?? 500;
      return c.json({ error: { code: err.code, message: err.message } }, status);
    }
    log.error({ path: c.req.path, ...errorFields(err) }, 'unhandled request error');
    return c.json({ error: { code: ErrorCode.Internal, message: 'Internal error' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, 404));

  app.get('/healthz', async (c) => c.json({ ok: true, mediaNodes: (await registry.healthy(Date.now())).length }));

  const connections = new KeyedRateLimiter(config.connectionsPerMinute / 60, config.connectionsPerMinute);
  app.get('/rooms/:room/ws', (c) => {
    const room = RoomName.safeParse(c.req.param('room'));
    if (!room.success) return c.json({ error: { code: ErrorCode.BadMessage, message: room.error.issues[0]?.message ?? 'bad room name' } }, 400);
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return c.json({ error: { code: ErrorCode.BadMessage, message: 'expected a WebSocket upgrade' } }, 426);
    }
    const address = adapter.clientAddress(c);
    if (address !== undefined && !connections.take(address)) {
      return c.json({ error: { code: ErrorCode.RateLimited, message: 'too many new connections from your address' } }, 429);
    }
    return adapter.roomSocket(c, room.data);
  });

  // --- media node registry and events (requests signed with the node's own secret) ---
  // Replay caches and rate limits per node: one node's flood cannot lock out the others (node-guard.ts).
  const guard = new NodeGuard(config.nodeEventsPerSecond);
  const warnings = new ThrottledWarnings();
  /**
   * A security event at warn level, at most one line per node, kind and 10 s (the rest are counted). The
   * node id is logged only when it is a configured one: an attacker's made-up ids stay out of the log.
   */
  const securityWarn = (nodeId: string, msg: string, fields: { route: string; reason: string }) => {
    const node = config.nodeSecrets.has(nodeId) ? nodeId : '(unknown)';
    warnings.warn(`${node}|${msg}|${fields.reason}`, (suppressed) => log.warn({ security: true, node, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, msg));
  };
  // Node requests are small (a registration is a few KiB): the body is read before it can be verified,
  // so a stranger must not make the edge read megabytes.
  app.use('/api/nodes/*', bodyLimit({ maxSize: MAX_NODE_REQUEST_BYTES, onError: (c) => c.json({ error: { code: ErrorCode.MessageTooLarge, message: `node requests are limited to ${MAX_NODE_REQUEST_BYTES} bytes` } }, 413) }));
  /**
   * Verifies the node's signature over the raw body, then its rate limit (only authenticated requests
   * count against a node, so nobody can spend another node's budget), then its nonce; then parses it.
   */
  const signedBody = async (c: Context, nodeId: string, route: string, kind: NodeRequestKind): Promise<unknown> => {
    const text = await c.req.text();
    // Unknown nodes are checked against a random secret, so that timing does not reveal which ids exist.
    const secrets = config.nodeSecrets.get(nodeId) ?? [`unknown-node:${crypto.randomUUID()}`];
    try {
      const now = Date.now();
      const { nonce } = await authenticateRequest(secrets, { method: c.req.method, path: new URL(c.req.url).pathname, body: text }, (h) => c.req.header(h), now);
      if (!guard.admit(nodeId, kind, now)) {
        securityWarn(nodeId, 'media node rate limited', { route, reason: kind });
        throw new TreffpunktError(ErrorCode.RateLimited, 'too many requests from this node, slow down');
      }
      if (!guard.remember(nodeId, nonce, now)) throw new RequestRefused('replayed');
    } catch (err) {
      if (err instanceof RequestRefused) securityWarn(nodeId, 'media node request refused', { route, reason: err.reason });
      throw err;
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new TreffpunktError(ErrorCode.BadJson, 'body is not valid JSON');
    }
  };
  /** Parses a signed body with `schema`; a body that does not fit is refused with BAD_MESSAGE (and logged). */
  const parseSigned = <T>(nodeId: string, route: string, schema: z.ZodType<T>, body: unknown): T => {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    securityWarn(nodeId, 'media node request refused', { route, reason: 'invalid body' });
    throw new TreffpunktError(ErrorCode.BadMessage, `invalid ${route}: ${describe(parsed.error)}`);
  };

  app.post('/api/nodes/register', async (c) => {
    const nodeId = c.req.header(NODE_HEADER) ?? '';
    const claimed = parseSigned(nodeId, 'registration', NodeRegistration, await signedBody(c, nodeId, 'registration', 'registry'));
    if (claimed.nodeId !== nodeId) {
      securityWarn(nodeId, 'media node registration refused', { route: 'registration', reason: 'another node id' });
      throw new TreffpunktError(ErrorCode.Unauthorized, 'a node registers only itself');
    }
    let registration: NodeRegistration;
    try {
      registration = checkRegistration(claimed, config.nodePins.get(nodeId), config.allowInsecureHttp);
    } catch (err) {
      if (err instanceof RegistrationRefused) securityWarn(nodeId, 'media node registration refused', { route: 'registration', reason: err.reason });
      throw err;
    }
    await registry.register(registration, Date.now());
    log.info({ node: registration.nodeId, region: registration.region, operator: registration.operator, jurisdiction: registration.jurisdiction }, 'media node registered');
    return c.json({ ok: true, heartbeatIntervalMs: Math.floor(config.nodeHeartbeatTimeoutMs / 3) });
  });

  app.post('/api/nodes/:nodeId/heartbeat', async (c) => {
    const nodeId = c.req.param('nodeId');
    const heartbeat = parseSigned(nodeId, 'heartbeat', NodeHeartbeat, await signedBody(c, nodeId, 'heartbeat', 'registry'));
    const known = await registry.heartbeat(nodeId, heartbeat.load satisfies NodeLoad, Date.now());
    // 409 tells the node to register again (e.g. after an edge restart).
    return known ? c.json({ ok: true }) : c.json({ error: { code: ErrorCode.NotFound, message: 'register first' } }, 409);
  });

  app.post('/api/nodes/:nodeId/drain', async (c) => {
    const nodeId = c.req.param('nodeId');
    parseSigned(nodeId, 'drain request', NodeDrain, await signedBody(c, nodeId, 'drain', 'registry'));
    const known = await registry.drain(nodeId);
    log.info({ node: nodeId, known }, 'media node drains: its rooms move away');
    return known ? c.json({ ok: true }) : c.json({ error: { code: ErrorCode.NotFound, message: 'register first' } }, 409);
  });

  app.post('/api/nodes/:nodeId/events', async (c) => {
    const nodeId = c.req.param('nodeId');
    const body = parseSigned(nodeId, 'event', NodeEventBody, await signedBody(c, nodeId, 'event', 'events'));
    await adapter.roomEvent(body.room, nodeId, body.event);
    return c.json({ ok: true });
  });

  // --- the browser app ---
  const page = async (c: Context, path: string) => {
    const body = await adapter.asset(path);
    if (!body) return c.notFound();
    c.header('Content-Type', contentTypeFor(path));
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('Permissions-Policy', 'camera=(self), microphone=(self), display-capture=(self)');
    c.header('Cache-Control', path === '/index.html' ? 'no-cache' : 'public, max-age=300');
    return c.body(body);
  };
  app.get('/assets/:file', (c) => page(c, `/assets/${c.req.param('file')}`));
  app.get('/', (c) => page(c, '/index.html'));
  app.get('/:room', (c) => (RoomName.safeParse(c.req.param('room')).success ? page(c, '/index.html') : c.notFound()));

  return app;
}

/** The largest body of a node request to the edge (registration, heartbeat, drain, event). */
const MAX_NODE_REQUEST_BYTES = 64 * 1024;

/** HTTP status per error code of the edge's own API (others: 500). */
const STATUS: Partial<Record<ErrorCode, 400 | 401 | 403 | 429>> = {
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.BadMessage]: 400,
  [ErrorCode.BadJson]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.RateLimited]: 429,
};

function describe(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const i = error.issues[0];
  return i ? `${i.path.map(String).join('.') || '(body)'}: ${i.message}` : 'invalid';
}
