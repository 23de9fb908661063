/**
 * The control API that only the edge may call: Hono on Node. Every request is signed by the edge with
 * this node's secret, timestamped and carries a nonce (shared/request-signing.ts: stale and replayed
 * requests are refused); every body is parsed by the shared control schema.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from 'pino';
import type { ControlBody, ControlOp, ControlResponse } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { NonceCache, RequestRefused, verifyRequest } from '../shared/request-signing.ts';
import { ThrottledWarnings } from '../shared/throttled-warnings.ts';
import { controlBody, peerParam, roomParam } from './control-request.ts';
import { addDiagnosticRoutes } from './diagnostics-api.ts';
import type { MediaRooms } from './media-rooms.ts';

const STATUS: Partial<Record<string, 400 | 401 | 404 | 409 | 500>> = {
  [ErrorCode.BadMessage]: 400,
  [ErrorCode.BadJson]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.CannotConsume]: 409,
};

/** @param opts.diagnostics mount the test and diagnostic routes too (TREFFPUNKT_NODE_DIAGNOSTICS). */
export function createControlApi(opts: { secrets: readonly string[]; rooms: MediaRooms; log: Logger; healthy: () => boolean; diagnostics?: boolean }): Hono {
  const { secrets, rooms, log } = opts;
  const nonces = new NonceCache();
  const warnings = new ThrottledWarnings();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof TreffpunktError) return c.json({ error: { code: err.code, message: err.message } }, STATUS[err.code] ?? 500);
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
  app.notFound((c) => c.json({ error: { code: ErrorCode.NotFound, message: 'not found' } }, 404));

  app.get('/healthz', (c) => (opts.healthy() ? c.json({ ok: true, load: rooms.load() }) : c.json({ ok: false }, 503)));

  app.use('/v1/*', async (c, next) => {
    // Hono keeps the body text, so the handlers' c.req.json() reads it again without consuming a stream.
    const body = c.req.method === 'GET' ? '' : await c.req.text();
    try {
      await verifyRequest(secrets, { method: c.req.method, path: c.req.path, body }, (h) => c.req.header(h), nonces);
    } catch (err) {
      // Only the edge may call here: anything else is worth a (throttled) warning. No path (it may carry
      // an attacker's text), no address, no signature.
      if (err instanceof RequestRefused) warnings.warn(err.reason, (suppressed) => log.warn({ security: true, reason: err.reason, ...(suppressed > 0 ? { suppressed } : {}) }, 'control request refused'));
      throw err;
    }
    await next();
  });

  /**
   * A POST operation on one room. The room name, then the body, then the room itself are checked, in
   * that order, so that a malformed request is BAD_MESSAGE/BAD_JSON before it can be NOT_FOUND.
   */
  const post = <O extends ControlOp>(path: string, op: O, run: (c: Context, room: string, body: ControlBody<O>) => Promise<ControlResponse<O>>) =>
    app.post(path, async (c) => {
      const room = roomParam(c);
      return c.json(await run(c, room, await controlBody(c, op)));
    });
  /** The same for an operation on the room's pipe to a peer node: room name, peer id, body, room. */
  const postPipe = <O extends ControlOp>(path: string, op: O, run: (room: string, peer: string, body: ControlBody<O>) => Promise<ControlResponse<O>>) =>
    app.post(`/v1/rooms/:room/pipes/:peer${path}`, async (c) => {
      const room = roomParam(c);
      const peer = peerParam(c);
      return c.json(await run(room, peer, await controlBody(c, op)));
    });
  const id = (c: Context) => c.req.param('id') as string;

  post('/v1/rooms/:room/router', 'ensureRouter', async (_c, room) => ({ rtpCapabilities: (await rooms.getOrCreate(room)).rtpCapabilities }));
  post('/v1/rooms/:room/transports', 'createTransport', async (_c, room, body) => (await rooms.getOrCreate(room)).createTransport(body));
  post('/v1/rooms/:room/transports/:id/connect', 'connectTransport', (c, room, body) => rooms.get(room).connectTransport(id(c), body));
  post('/v1/rooms/:room/transports/:id/restart-ice', 'restartIce', (c, room) => rooms.get(room).restartIce(id(c)));
  post('/v1/rooms/:room/transports/:id/produce', 'produce', (c, room, body) => rooms.get(room).produce(id(c), body));
  post('/v1/rooms/:room/transports/:id/consume', 'consume', (c, room, body) => rooms.get(room).consume(id(c), body));
  post('/v1/rooms/:room/producers/:id/close', 'closeProducer', async (c, room) => (await rooms.find(room)?.closeProducer(id(c))) ?? {});
  post('/v1/rooms/:room/producers/:id/pause', 'setProducerPaused', (c, room, body) => rooms.get(room).setProducerPaused(id(c), body));
  post('/v1/rooms/:room/consumers/:id/layers', 'setConsumerLayers', (c, room, body) => rooms.get(room).setConsumerLayers(id(c), body));
  post('/v1/rooms/:room/consumers/:id/close', 'closeConsumer', async (c, room) => rooms.find(room)?.closeConsumer(id(c)) ?? {});
  post('/v1/rooms/:room/consumers/:id/resume', 'resumeConsumer', (c, room) => rooms.get(room).resumeConsumer(id(c)));
  post('/v1/rooms/:room/participants/:id/close', 'closeParticipant', async (c, room) => (await rooms.find(room)?.closeParticipant(id(c))) ?? {});
  postPipe('', 'createPipe', async (room, peer) => (await rooms.getOrCreate(room)).pipes.create(peer));
  postPipe('/connect', 'connectPipe', (room, peer, body) => rooms.get(room).pipes.connect(peer, body));
  postPipe('/consume', 'pipeConsume', (room, peer, body) => rooms.get(room).pipes.consume(peer, body));
  postPipe('/produce', 'pipeProduce', (room, peer, body) => rooms.get(room).pipes.produce(peer, body));
  postPipe('/close', 'closePipe', async (room, peer) => rooms.find(room)?.pipes.close(peer) ?? {});
  post('/v1/rooms/:room/close', 'closeRoom', async (_c, room) => (rooms.close(room), {}));

  if (opts.diagnostics) addDiagnosticRoutes(app, rooms);

  return app;
}
