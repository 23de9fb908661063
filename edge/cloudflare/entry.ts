/**
 * The Worker: the same Hono core as the Node edge, with rooms and the node registry as Durable Objects
 * and the browser app from the ASSETS binding. Runs on Cloudflare (`wrangler deploy`) and on self-hosted
 * workerd (edge/cloudflare/workerd.capnp).
 */
import type { Hono } from 'hono';
import { createEdgeApp } from '../core/app.ts';
import { parseEdgeConfig } from '../core/config.ts';
import { consoleLogger } from '../core/logger.ts';
import { ErrorCode } from '../../shared/errors.ts';
import { settings, type Env } from './env.ts';
import { DurableObjectNodeRegistry } from './registry.ts';
import { ADDRESS_KEY_HEADER, ROOM_NAME_HEADER } from './room-host.ts';

export { RoomObject } from './room-host.ts';
export { NodeRegistryObject } from './registry.ts';

let cached: { env: Env; app: Hono } | undefined;

function appFor(env: Env): Hono {
  if (cached?.env === env) return cached.app;
  const config = parseEdgeConfig(settings(env));
  // Once per isolate (the app is cached per env): the Worker has no start-up of its own to say it at.
  if (config.allowInsecureHttp)
    consoleLogger.warn(
      {},
      'TREFFPUNKT_ALLOW_INSECURE_HTTP is set: media nodes may register plain http control URLs beyond loopback, readable on the way',
    );
  const app = createEdgeApp({
    config,
    registry: new DurableObjectNodeRegistry(env.REGISTRY, config.nodeHeartbeatTimeoutMs),
    log: consoleLogger,
    adapter: {
      roomSocket: (c, room, addressKey) => {
        const headers = new Headers(c.req.raw.headers);
        headers.set(ROOM_NAME_HEADER, room);
        // Only the Worker may name the address: a client's own header of that name is dropped.
        if (addressKey === undefined) headers.delete(ADDRESS_KEY_HEADER);
        else headers.set(ADDRESS_KEY_HEADER, addressKey);
        return env.ROOMS.get(env.ROOMS.idFromName(room)).fetch(new Request(c.req.raw.url, { headers }));
      },
      // Set by Cloudflare (and stripped from what clients send); absent on self-hosted workerd.
      clientAddress: (c) => c.req.header('cf-connecting-ip'),
      roomEvent: async (room, nodeId, event) => {
        await env.ROOMS.get(env.ROOMS.idFromName(room)).nodeEvent(room, nodeId, event);
      },
      asset: async (path) => {
        const res = await env.ASSETS.fetch(new Request(new URL(path, 'https://assets.invalid')));
        if (!res.ok) {
          await res.body?.cancel();
          return null;
        }
        return res.arrayBuffer();
      },
      compression: 'runtime',
    },
  });
  cached = { env, app };
  return app;
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    let app: Hono;
    try {
      app = appFor(env);
    } catch (err) {
      // A misconfigured deployment: say so in the log, and give clients a code, not a stack.
      consoleLogger.error({ err: (err as Error).message }, 'edge configuration is invalid');
      return Response.json(
        { error: { code: ErrorCode.Internal, message: 'the edge is misconfigured' } },
        { status: 500 },
      );
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
