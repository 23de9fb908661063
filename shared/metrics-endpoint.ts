/**
 * The metrics listener of the edge and the media node (TREFFPUNKT_METRICS_ADDR): a separate address, so
 * that /metrics is never reachable where the meetings are. Off unless set; beyond loopback it needs
 * TREFFPUNKT_METRICS_TOKEN (`Authorization: Bearer …`, compared in constant time), so metrics are never
 * public by accident. Runtime-neutral (a Hono app); each Node entry serves it with @hono/node-server.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { bearerToken, type TokenCheck } from './token-check.ts';

/** `host:port` or `[v6]:port`; the host an IP literal or localhost. */
export const MetricsAddr = z.string().transform((raw, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(raw.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464' });
    return z.NEVER;
  }
  return { host: (m[1] ?? m[2])!, port };
});
export type MetricsAddr = z.infer<typeof MetricsAddr>;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Checks a metrics address and token together: beyond loopback a token (at least 32 characters) is
 * required. Returns the problems as "SETTING: reason" lines.
 */
export function metricsListenerProblems(addr: MetricsAddr | undefined, token: string | undefined): string[] {
  if (token !== undefined && token.length < 32) return ['TREFFPUNKT_METRICS_TOKEN: must be at least 32 characters'];
  if (addr && !isLoopbackHost(addr.host) && token === undefined)
    return [
      `TREFFPUNKT_METRICS_ADDR: ${addr.host} is beyond loopback; set TREFFPUNKT_METRICS_TOKEN too, so that metrics are not public`,
    ];
  return [];
}

/** GET /metrics renders the registry; everything else is 404. */
export function metricsApp(render: () => Promise<{ body: string; contentType: string }>, token?: TokenCheck): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (token) {
      const presented = bearerToken(c.req.header('authorization'));
      if (presented === undefined || !(await token.matches(presented)))
        return c.json({ error: { code: ErrorCode.Unauthorized, message: 'metrics token missing or wrong' } }, 401);
    }
    const { body, contentType } = await render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.notFound((c) => c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, 404));
  return app;
}
