/**
 * The control API that only the edge may call: Hono on Node. Every request is signed by the edge with
 * this node's secret, timestamped and carries a nonce (shared/request-signing.ts: stale and replayed
 * requests are refused); every body is parsed by the shared control schema.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from 'pino';
import { control, NodeId, RoomName, type ControlOp } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { NonceCache, RequestRefused, verifyRequest } from '../shared/request-signing.ts';
import { ThrottledWarnings } from '../shared/throttled-warnings.ts';
import type { MediaRooms } from './media-rooms.ts';


const STATUS: Partial<Record<string, 400 | 401 | 404 | 409 | 500>> = {
  [ErrorCode.BadMessage]: 400,
  [ErrorCode.BadJson]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.CannotConsume]: 409,
};

export function createControlApi(opts: { secrets: readonly string[]; rooms: MediaRooms; log: Logger; healthy: () => boolean }): Hono {
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

  const body = async <O extends ControlOp>(c: Context, op: O) => {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      throw new TreffpunktError(ErrorCode.BadJson, 'body is not valid JSON');
    }
    const parsed = control[op].body.safeParse(json);
    if (!parsed.success) throw new TreffpunktError(ErrorCode.BadMessage, `invalid ${op} body: ${parsed.error.issues[0]?.message}`);
    return parsed.data as import('zod').infer<(typeof control)[O]['body']>;
  };
  const room = (c: Context) => {
    const r = RoomName.safeParse(c.req.param('room'));
    if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad room name');
    return r.data;
  };

  app.post('/v1/rooms/:room/router', async (c) => (await body(c, 'ensureRouter'), c.json(await rooms.ensureRouter(room(c)))));
  app.post('/v1/rooms/:room/transports', async (c) => c.json(await rooms.createTransport(room(c), await body(c, 'createTransport'))));
  app.post('/v1/rooms/:room/transports/:id/connect', async (c) => c.json(await rooms.connectTransport(room(c), c.req.param('id'), await body(c, 'connectTransport'))));
  app.post('/v1/rooms/:room/transports/:id/restart-ice', async (c) => (await body(c, 'restartIce'), c.json(await rooms.restartIce(room(c), c.req.param('id')))));
  app.post('/v1/rooms/:room/transports/:id/produce', async (c) => c.json(await rooms.produce(room(c), c.req.param('id'), await body(c, 'produce'))));
  app.post('/v1/rooms/:room/transports/:id/consume', async (c) => c.json(await rooms.consume(room(c), c.req.param('id'), await body(c, 'consume'))));
  app.post('/v1/rooms/:room/producers/:id/close', async (c) => (await body(c, 'closeProducer'), c.json(await rooms.closeProducer(room(c), c.req.param('id')))));
  app.post('/v1/rooms/:room/producers/:id/pause', async (c) => c.json(await rooms.setProducerPaused(room(c), c.req.param('id'), await body(c, 'setProducerPaused'))));
  app.post('/v1/rooms/:room/consumers/:id/layers', async (c) => c.json(await rooms.setConsumerLayers(room(c), c.req.param('id'), await body(c, 'setConsumerLayers'))));
  app.post('/v1/rooms/:room/consumers/:id/resume', async (c) => (await body(c, 'resumeConsumer'), c.json(await rooms.resumeConsumer(room(c), c.req.param('id')))));
  app.post('/v1/rooms/:room/participants/:id/close', async (c) => (await body(c, 'closeParticipant'), c.json(await rooms.closeParticipant(room(c), c.req.param('id')))));
  const peer = (c: Context) => {
    const r = NodeId.safeParse(c.req.param('peer'));
    if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad peer node id');
    return r.data;
  };
  app.post('/v1/rooms/:room/pipes/:peer', async (c) => (await body(c, 'createPipe'), c.json(await rooms.createPipe(room(c), peer(c)))));
  app.post('/v1/rooms/:room/pipes/:peer/connect', async (c) => c.json(await rooms.connectPipe(room(c), peer(c), await body(c, 'connectPipe'))));
  app.post('/v1/rooms/:room/pipes/:peer/consume', async (c) => c.json(await rooms.pipeConsume(room(c), peer(c), await body(c, 'pipeConsume'))));
  app.post('/v1/rooms/:room/pipes/:peer/produce', async (c) => c.json(await rooms.pipeProduce(room(c), peer(c), await body(c, 'pipeProduce'))));
  app.post('/v1/rooms/:room/pipes/:peer/close', async (c) => (await body(c, 'closePipe'), c.json(await rooms.closePipe(room(c), peer(c)))));
  app.post('/v1/rooms/:room/close', async (c) => (await body(c, 'closeRoom'), c.json(await rooms.closeRoom(room(c)))));

  // Test and diagnostics: what a consumer has sent (packet counts), as mediasoup's getStats reports it.
  app.get('/v1/rooms/:room/consumers/:id/stats', async (c) => {
    const consumer = rooms.consumer(room(c), c.req.param('id'));
    if (!consumer) throw new TreffpunktError(ErrorCode.NotFound, 'no such consumer');
    return c.json({ stats: await consumer.getStats(), type: consumer.type, currentLayers: consumer.currentLayers ?? null, preferredLayers: consumer.preferredLayers ?? null, paused: consumer.paused, producerPaused: consumer.producerPaused });
  });

  // Test and diagnostics: a pipe's encryption and traffic (what crosses between nodes, and that it is SRTP).
  app.get('/v1/rooms/:room/pipes/:peer/stats', async (c) => {
    const info = rooms.pipe(room(c), peer(c));
    if (!info) throw new TreffpunktError(ErrorCode.NotFound, 'no such pipe');
    const pipe = info.transport;
    const [stats] = await pipe.getStats();
    return c.json({ srtpCryptoSuite: pipe.srtpParameters?.cryptoSuite ?? null, tuple: pipe.tuple, pipedOut: info.pipedOut, bytesSent: stats?.bytesSent ?? 0, bytesReceived: stats?.bytesReceived ?? 0, rtpBytesSent: stats?.rtpBytesSent ?? 0, rtpBytesReceived: stats?.rtpBytesReceived ?? 0 });
  });

  return app;
}
