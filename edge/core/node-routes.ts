/**
 * The edge's API for media nodes: registration, heartbeats, drain and media events. Every request is
 * signed with the node's own secret (shared/request-signing.ts); each node has its own replay cache and
 * rate limits (node-guard.ts), and its registration is checked against what its credentials pin
 * (node-identity.ts). Refusals are security events at warn level. Routes, bodies, replies and the
 * register-again status are those of the shared node API table (shared/node-api.ts).
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { NodeLoad, NodeRegistration } from '../../shared/control.ts';
import { ErrorCode, httpStatusOf, TreffpunktError } from '../../shared/errors.ts';
import { nodeApi, REGISTER_AGAIN_STATUS, type NodeApiResponse } from '../../shared/node-api.ts';
import { NODE_LINK_ROUTE } from '../../shared/node-link.ts';
import { authenticateRequest, NODE_HEADER, RequestRefused } from '../../shared/request-signing.ts';
import { ThrottledWarnings } from '../../shared/throttled-warnings.ts';
import type { EdgeAppOptions } from './app.ts';
import { NodeGuard, type NodeRequestKind } from './node-guard.ts';
import { checkRegistration, RegistrationRefused } from './node-identity.ts';

/** The largest body of a node request to the edge (registration, heartbeat, drain, event). */
const MAX_NODE_REQUEST_BYTES = 64 * 1024;

/** The edge's security events about media nodes, by stable name (docs/security.md), with their log message. */
const NODE_SECURITY_MESSAGES = {
  nodeRateLimited: 'media node rate limited',
  nodeRequestRefused: 'media node request refused',
  nodeRegistrationRefused: 'media node registration refused',
} as const;
type NodeSecurityEvent = keyof typeof NODE_SECURITY_MESSAGES;

export function registerNodeRoutes(app: Hono, { config, registry, adapter, log }: EdgeAppOptions): void {
  // Replay caches and rate limits per node: one node's flood cannot lock out the others (node-guard.ts).
  const guard = new NodeGuard(config.nodeEventsPerSecond);
  const warnings = new ThrottledWarnings();
  /**
   * A security event at warn level, at most one line per node, kind and 10 s (the rest are counted). The
   * node id is logged only when it is a configured one: an attacker's made-up ids stay out of the log.
   */
  const securityWarn = (nodeId: string, event: NodeSecurityEvent, fields: { route: string; reason: string }) => {
    const node = config.nodeSecrets.has(nodeId) ? nodeId : '(unknown)';
    const msg = NODE_SECURITY_MESSAGES[event];
    warnings.warn(`${node}|${event}|${fields.reason}`, (suppressed) =>
      log.warn({ security: true, event, node, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, msg),
    );
  };
  // Node requests are small (a registration is a few KiB): the body is read before it can be verified,
  // so a stranger must not make the edge read megabytes.
  app.use(
    '/api/nodes/*',
    bodyLimit({
      maxSize: MAX_NODE_REQUEST_BYTES,
      onError: (c) =>
        c.json(
          {
            error: {
              code: ErrorCode.MessageTooLarge,
              message: `node requests are limited to ${MAX_NODE_REQUEST_BYTES} bytes`,
            },
          },
          httpStatusOf(ErrorCode.MessageTooLarge),
        ),
    }),
  );
  /**
   * Verifies the node's signature over the raw body, then its rate limit (only authenticated requests
   * count against a node, so nobody can spend another node's budget), then its nonce. Returns the body.
   */
  const authenticate = async (c: Context, nodeId: string, route: string, kind: NodeRequestKind): Promise<string> => {
    const text = await c.req.text();
    // Unknown nodes are checked against a random secret, so that timing does not reveal which ids exist.
    const secrets = config.nodeSecrets.get(nodeId) ?? [`unknown-node:${crypto.randomUUID()}`];
    try {
      const now = Date.now();
      const { nonce } = await authenticateRequest(
        secrets,
        { method: c.req.method, path: new URL(c.req.url).pathname, body: text },
        (h) => c.req.header(h),
        now,
      );
      if (!guard.admit(nodeId, kind, now)) {
        securityWarn(nodeId, 'nodeRateLimited', { route, reason: kind });
        throw new TreffpunktError(ErrorCode.RateLimited, 'too many requests from this node, slow down');
      }
      if (!guard.remember(nodeId, nonce, now)) throw new RequestRefused('replayed');
    } catch (err) {
      if (err instanceof RequestRefused) securityWarn(nodeId, 'nodeRequestRefused', { route, reason: err.reason });
      throw err;
    }
    return text;
  };
  /** The signed body (authenticate), parsed as JSON. */
  const signedBody = async (c: Context, nodeId: string, route: string, kind: NodeRequestKind): Promise<unknown> => {
    const text = await authenticate(c, nodeId, route, kind);
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
    securityWarn(nodeId, 'nodeRequestRefused', { route, reason: 'invalid body' });
    throw new TreffpunktError(ErrorCode.BadMessage, `invalid ${route}: ${describe(parsed.error)}`);
  };

  /** The edge's refusal of a heartbeat or drain from a node it does not know: the node registers again. */
  const registerAgain = (c: Context, op: 'heartbeat' | 'drain' | 'rooms') =>
    c.json({ error: { code: ErrorCode.NotFound, message: 'register first' } }, nodeApi[op].registerAgainStatus);
  const ok = { ok: true } as const satisfies NodeApiResponse<'heartbeat'>;

  app.on(nodeApi.register.method, nodeApi.register.route, async (c) => {
    const nodeId = c.req.header(NODE_HEADER) ?? '';
    const claimed = parseSigned(
      nodeId,
      'registration',
      nodeApi.register.body,
      await signedBody(c, nodeId, 'registration', 'registry'),
    );
    if (claimed.nodeId !== nodeId) {
      securityWarn(nodeId, 'nodeRegistrationRefused', { route: 'registration', reason: 'another node id' });
      throw new TreffpunktError(ErrorCode.Unauthorized, 'a node registers only itself');
    }
    let registration: NodeRegistration;
    try {
      registration = checkRegistration(claimed, config.nodePins.get(nodeId), config.allowInsecureHttp);
    } catch (err) {
      if (err instanceof RegistrationRefused)
        securityWarn(nodeId, 'nodeRegistrationRefused', { route: 'registration', reason: err.reason });
      throw err;
    }
    await registry.register(registration, Date.now());
    log.info(
      {
        node: registration.nodeId,
        region: registration.region,
        operator: registration.operator,
        jurisdiction: registration.jurisdiction,
      },
      'media node registered',
    );
    // Not awaited: the registration must not wait for a probe; what it finds is a log line for the operator.
    const { media } = registration;
    if (media && adapter.tcpAnswers)
      void adapter.tcpAnswers(media.address, media.tcpPort).then((answers) => {
        if (!answers)
          log.warn(
            { node: registration.nodeId, address: media.address, port: media.tcpPort },
            "nothing answers at the media node's announced media address from this edge: browsers may not reach it (check its TREFFPUNKT_NODE_ANNOUNCED_ADDRESS)",
          );
      });
    const reply: NodeApiResponse<'register'> = {
      ok: true,
      heartbeatIntervalMs: Math.floor(config.nodeHeartbeatTimeoutMs / 3),
    };
    return c.json(reply);
  });

  app.on(nodeApi.heartbeat.method, nodeApi.heartbeat.route, async (c) => {
    const nodeId = c.req.param('nodeId');
    const heartbeat = parseSigned(
      nodeId,
      'heartbeat',
      nodeApi.heartbeat.body,
      await signedBody(c, nodeId, 'heartbeat', 'registry'),
    );
    const known = await registry.heartbeat(nodeId, heartbeat.load satisfies NodeLoad, Date.now());
    // An unknown node (e.g. after an edge restart) registers again.
    return known ? c.json(ok) : registerAgain(c, 'heartbeat');
  });

  app.on(nodeApi.drain.method, nodeApi.drain.route, async (c) => {
    const nodeId = c.req.param('nodeId');
    parseSigned(nodeId, 'drain request', nodeApi.drain.body, await signedBody(c, nodeId, 'drain', 'registry'));
    const known = await registry.drain(nodeId);
    log.info({ node: nodeId, known }, 'media node drains: its rooms move away');
    return known ? c.json(ok) : registerAgain(c, 'drain');
  });

  app.on(nodeApi.rooms.method, nodeApi.rooms.route, async (c) => {
    const nodeId = c.req.param('nodeId');
    const { rooms } = parseSigned(
      nodeId,
      'room list',
      nodeApi.rooms.body,
      await signedBody(c, nodeId, 'room list', 'registry'),
    );
    if (!(await registry.get(nodeId))) return registerAgain(c, 'rooms');
    const keep = adapter.roomsInUse ? await adapter.roomsInUse(nodeId, rooms) : rooms;
    if (keep.length < rooms.length)
      log.info(
        { node: nodeId, held: rooms.length, closing: rooms.length - keep.length },
        'media node told to close rooms that are gone',
      );
    const reply: NodeApiResponse<'rooms'> = { ok: true, keep: keep.filter((r) => rooms.includes(r)) };
    return c.json(reply);
  });

  /**
   * The node link (shared/node-link.ts): a signed GET upgraded to a WebSocket by the runtime adapter. A
   * bad or missing signature is refused like any node request (401 UNAUTHORIZED, no socket; on Node a
   * refused upgrade carries the status only, @hono/node-ws answers it without a body); a runtime without
   * links (the Worker, for now) answers 404 and the node goes on with heartbeats alone.
   */
  app.get(NODE_LINK_ROUTE, async (c) => {
    const nodeId = c.req.param('nodeId');
    await authenticate(c, nodeId, 'link', 'registry');
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      return c.json({ error: { code: ErrorCode.BadMessage, message: 'expected a WebSocket upgrade' } }, 426);
    if (!adapter.nodeLink)
      return c.json(
        { error: { code: ErrorCode.NotFound, message: 'this edge has no node link: heartbeats only' } },
        httpStatusOf(ErrorCode.NotFound),
      );
    // Unknown (the edge restarted, or found the node lost): the link comes after the registration.
    const node = await registry.get(nodeId);
    if (!node || node.lostAt !== undefined)
      return c.json({ error: { code: ErrorCode.NotFound, message: 'register first' } }, REGISTER_AGAIN_STATUS);
    return adapter.nodeLink(c, nodeId);
  });

  app.on(nodeApi.events.method, nodeApi.events.route, async (c) => {
    const nodeId = c.req.param('nodeId');
    const body = parseSigned(nodeId, 'event', nodeApi.events.body, await signedBody(c, nodeId, 'event', 'events'));
    await adapter.roomEvent(body.room, nodeId, body.event);
    return c.json(ok);
  });
}

function describe(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const i = error.issues[0];
  return i ? `${i.path.map(String).join('.') || '(body)'}: ${i.message}` : 'invalid';
}
