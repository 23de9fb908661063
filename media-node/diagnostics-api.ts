/**
 * The control API's test and diagnostic routes: what a consumer has sent, and what crosses a pipe between
 * nodes (and that it is SRTP). Mounted only with TREFFPUNKT_NODE_DIAGNOSTICS (docs/configuration.md):
 * they read mediasoup's internals, which no production caller needs. Signed like every control request.
 */
import type { Hono } from 'hono';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { peerParam, roomParam } from './control-request.ts';
import type { MediaRooms } from './media-rooms.ts';

/** Adds the routes to `app`, behind its /v1/* signature check. */
export function addDiagnosticRoutes(app: Hono, rooms: MediaRooms): void {
  // Every room this node holds and what is in it: tests check that reconciliation and the reaper
  // leave nothing behind (orphans.test.ts).
  app.get('/v1/diagnostics/rooms', (c) =>
    c.json({ rooms: Object.fromEntries(rooms.names().map((name) => [name, rooms.find(name)?.counts()])) }),
  );

  // A consumer's packet counts, as mediasoup's getStats reports them, and its layers and pause state.
  app.get('/v1/rooms/:room/consumers/:consumerId/stats', async (c) => {
    const consumer = rooms.find(roomParam(c))?.consumer(c.req.param('consumerId'));
    if (!consumer) throw new TreffpunktError(ErrorCode.NotFound, 'no such consumer');
    return c.json({
      stats: await consumer.getStats(),
      type: consumer.type,
      currentLayers: consumer.currentLayers ?? null,
      preferredLayers: consumer.preferredLayers ?? null,
      paused: consumer.paused,
      producerPaused: consumer.producerPaused,
    });
  });

  // A pipe's encryption and traffic, and how many producers it carries out.
  app.get('/v1/rooms/:room/pipes/:peerNodeId/stats', async (c) => {
    const pipe = rooms.find(roomParam(c))?.pipes.find(peerParam(c));
    if (!pipe) throw new TreffpunktError(ErrorCode.NotFound, 'no such pipe');
    const { transport } = pipe;
    const [stats] = await transport.getStats();
    return c.json({
      srtpCryptoSuite: transport.srtpParameters?.cryptoSuite ?? null,
      tuple: transport.tuple,
      pipedOut: pipe.pipedOut,
      bytesSent: stats?.bytesSent ?? 0,
      bytesReceived: stats?.bytesReceived ?? 0,
      rtpBytesSent: stats?.rtpBytesSent ?? 0,
      rtpBytesReceived: stats?.rtpBytesReceived ?? 0,
    });
  });
}
