/**
 * The control API that only the edge may call: Hono on Node. Every request is signed by the edge with
 * this node's secret, timestamped and carries a nonce (shared/request-signing.ts: stale and replayed
 * requests are refused); every route is the one of its operation in the shared control table
 * (shared/control.ts), served by control-calls.ts, which checks ids and body by the operation's schemas —
 * the same code that serves the calls arriving on the node link (edge-link.ts).
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../shared/logger.ts';
import { control, type ControlOp } from '../shared/control.ts';
import { ErrorCode, httpStatusOf } from '../shared/errors.ts';
import { NonceCache, RequestRefused, verifyRequest } from '../shared/request-signing.ts';
import { ThrottledWarnings } from '../shared/throttled-warnings.ts';
import { ControlCalls, controlHandlers, errorOutcome } from './control-calls.ts';
import { addDiagnosticRoutes } from './diagnostics-api.ts';
import type { MediaRooms } from './media-rooms.ts';

/** @param opts.diagnostics mount the test and diagnostic routes too (TREFFPUNKT_NODE_DIAGNOSTICS). */
export function createControlApi(opts: {
  secrets: readonly string[];
  rooms: MediaRooms;
  log: Logger;
  healthy: () => boolean;
  diagnostics?: boolean;
  /** What serves the control operations (shared with the node link); default: over `rooms`. */
  calls?: ControlCalls;
}): Hono {
  const { secrets, rooms, log } = opts;
  const calls = opts.calls ?? new ControlCalls(controlHandlers(rooms), log);
  const nonces = new NonceCache();
  const warnings = new ThrottledWarnings();
  const app = new Hono();

  // The signature check and the diagnostic routes throw; the control operations answer their outcome.
  app.onError((err, c) => {
    const { status, error } = errorOutcome(err, log, { path: c.req.path });
    return c.json({ error }, status as ContentfulStatusCode);
  });
  app.notFound((c) =>
    c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, httpStatusOf(ErrorCode.NotFound)),
  );

  app.get('/healthz', (c) => (opts.healthy() ? c.json({ ok: true, load: rooms.load() }) : c.json({ ok: false }, 503)));

  app.use('/v1/*', async (c, next) => {
    // Hono keeps the body text, so the handlers' c.req.json() reads it again without consuming a stream.
    const body = c.req.method === 'GET' ? '' : await c.req.text();
    try {
      // The path as sent (Hono's c.req.path is decoded): the edge signs the URL-encoded one.
      await verifyRequest(
        secrets,
        { method: c.req.method, path: new URL(c.req.url).pathname, body },
        (h) => c.req.header(h),
        nonces,
      );
    } catch (err) {
      // Only the edge may call here: anything else is worth a (throttled) warning. No path (it may carry
      // an attacker's text), no address, no signature.
      if (err instanceof RequestRefused)
        warnings.warn(err.reason, (suppressed) =>
          log.warn(
            {
              security: true,
              event: 'controlRequestRefused',
              reason: err.reason,
              ...(suppressed > 0 ? { suppressed } : {}),
            },
            'control request refused',
          ),
        );
      throw err;
    }
    await next();
  });

  // Every operation of the shared control table, at its route, served as on the node link (control-calls.ts).
  for (const op of Object.keys(control) as ControlOp[]) {
    const { method, route } = control[op];
    app.on(method, route, async (c) => {
      const outcome = await calls.run(
        op,
        (name) => c.req.param(name),
        () => c.req.json(),
      );
      return outcome.ok
        ? c.json(outcome.response)
        : c.json({ error: outcome.error }, outcome.status as ContentfulStatusCode);
    });
  }

  if (opts.diagnostics) addDiagnosticRoutes(app, rooms);

  return app;
}
