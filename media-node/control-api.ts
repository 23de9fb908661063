/**
 * The control API that only the edge may call: Hono on Node. Every request is signed by the edge with
 * this node's secret, timestamped and carries a nonce (shared/request-signing.ts: stale and replayed
 * requests are refused); every route is the one of its operation in the shared control table
 * (shared/control.ts), and every body is parsed by the operation's schema.
 */
import { Hono } from 'hono';
import type { Logger } from '../shared/logger.ts';
import { control, type ControlBody, type ControlIds, type ControlOp, type ControlResponse } from '../shared/control.ts';
import { ErrorCode, httpStatusOf, TreffpunktError } from '../shared/errors.ts';
import { NonceCache, RequestRefused, verifyRequest } from '../shared/request-signing.ts';
import { ThrottledWarnings } from '../shared/throttled-warnings.ts';
import { controlBody, routeIds } from './control-request.ts';
import { addDiagnosticRoutes } from './diagnostics-api.ts';
import type { MediaRooms } from './media-rooms.ts';

/** What serves one control operation: its route's parameters (checked) and its body (parsed). */
type ControlHandler<O extends ControlOp> = (ids: ControlIds<O>, body: ControlBody<O>) => Promise<ControlResponse<O>>;
/** A handler for every operation of the control table: one missing does not compile. */
export type ControlHandlers = { [O in ControlOp]: ControlHandler<O> };

/** The control operations over `rooms`. */
export function controlHandlers(rooms: MediaRooms): ControlHandlers {
  return {
    ensureRouter: async ({ room }) => ({ rtpCapabilities: (await rooms.getOrCreate(room)).rtpCapabilities }),
    createTransport: async ({ room }, body) => (await rooms.getOrCreate(room)).createTransport(body),
    connectTransport: ({ room, transportId }, body) => rooms.get(room).connectTransport(transportId, body),
    restartIce: ({ room, transportId }) => rooms.get(room).restartIce(transportId),
    produce: ({ room, transportId }, body) => rooms.get(room).produce(transportId, body),
    consume: ({ room, transportId }, body) => rooms.get(room).consume(transportId, body),
    closeProducer: async ({ room, producerId }) => (await rooms.find(room)?.closeProducer(producerId)) ?? {},
    setProducerPaused: ({ room, producerId }, body) => rooms.get(room).setProducerPaused(producerId, body),
    setConsumerLayers: ({ room, consumerId }, body) => rooms.get(room).setConsumerLayers(consumerId, body),
    closeConsumer: async ({ room, consumerId }) => rooms.find(room)?.closeConsumer(consumerId) ?? {},
    resumeConsumer: ({ room, consumerId }) => rooms.get(room).resumeConsumer(consumerId),
    closeParticipant: async ({ room, participantId }) =>
      (await rooms.find(room)?.closeParticipant(participantId)) ?? {},
    createPipe: async ({ room, peerNodeId }) => (await rooms.getOrCreate(room)).pipes.create(peerNodeId),
    connectPipe: ({ room, peerNodeId }, body) => rooms.get(room).pipes.connect(peerNodeId, body),
    pipeConsume: ({ room, peerNodeId }, body) => rooms.get(room).pipes.consume(peerNodeId, body),
    pipeProduce: ({ room, peerNodeId }, body) => rooms.get(room).pipes.produce(peerNodeId, body),
    closePipe: async ({ room, peerNodeId }) => rooms.find(room)?.pipes.close(peerNodeId) ?? {},
    closeRoom: async ({ room }) => {
      rooms.close(room);
      return {};
    },
  };
}

/** @param opts.diagnostics mount the test and diagnostic routes too (TREFFPUNKT_NODE_DIAGNOSTICS). */
export function createControlApi(opts: {
  secrets: readonly string[];
  rooms: MediaRooms;
  log: Logger;
  healthy: () => boolean;
  diagnostics?: boolean;
}): Hono {
  const { secrets, rooms, log } = opts;
  const handlers = controlHandlers(rooms);
  const nonces = new NonceCache();
  const warnings = new ThrottledWarnings();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof TreffpunktError)
      return c.json({ error: { code: err.code, message: err.message } }, httpStatusOf(err.code));
    const e = err as Error;
    // mediasoup throws TypeError/UnsupportedError for parameters it refuses: the caller's mistake, not
    // ours. Its message is safe to pass on; a stack never is.
    if (e.name === 'TypeError' || e.name === 'UnsupportedError') {
      log.warn({ path: c.req.path, err: e.message }, 'control request refused by mediasoup');
      return c.json({ error: { code: ErrorCode.MediaNodeError, message: e.message.slice(0, 300) } }, 400);
    }
    log.error({ path: c.req.path, err: { message: e.message, stack: e.stack } }, 'control request failed');
    return c.json({ error: { code: ErrorCode.MediaNodeError, message: 'media operation failed' } }, 500);
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

  // Every operation of the shared control table, at its route; the type demands a handler for each.
  for (const op of Object.keys(control) as ControlOp[]) {
    const { method, route } = control[op];
    const run = handlers[op] as (ids: Record<string, string>, body: unknown) => Promise<unknown>;
    app.on(method, route, async (c) => {
      // The room name, the peer id, then the body, then the room itself are checked, in that order, so
      // that a malformed request is BAD_MESSAGE/BAD_JSON before it can be NOT_FOUND.
      const ids = routeIds(c, route);
      return c.json(await run(ids, await controlBody(c, op)));
    });
  }

  if (opts.diagnostics) addDiagnosticRoutes(app, rooms);

  return app;
}
