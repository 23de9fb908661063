/**
 * A running media node: the mediasoup workers, the control API and the registration with the edge.
 * Imports mediasoup: load it only after MEDIASOUP_WORKER_BIN is settled (see worker-binary.ts).
 */
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import type { MediaNodeConfig } from './config.ts';
import { createControlApi } from './control-api.ts';
import { MediaRooms } from './media-rooms.ts';
import { EdgeRegistration } from './registration.ts';
import { WorkerPool } from './worker-pool.ts';

export async function startMediaNode(config: MediaNodeConfig) {
  const log = pino({ level: config.logLevel, base: { service: 'media-node', node: config.nodeId }, redact: ['secret', '*.secret'] });
  let healthy = true;
  const pool = await WorkerPool.create(config, log, () => {
    // A dead worker takes its routers with it. Exit so that the supervisor restarts the node and the
    // edge stops sending rooms here (heartbeats stop); rooms moving to another node is issue 6.
    healthy = false;
    setTimeout(() => process.exit(1), 500).unref();
  });
  const rooms = new MediaRooms(pool);
  const app = createControlApi({ secret: config.secret, rooms, log, healthy: () => healthy });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.apiHost, port: config.apiPort }, () => resolve(s));
    s.once('error', reject);
  });
  log.info({ url: config.controlUrl }, 'control API listening');
  const registration = new EdgeRegistration({
    edgeUrl: config.edgeUrl,
    secret: config.secret,
    registration: { nodeId: config.nodeId, controlUrl: config.controlUrl, region: config.region, operator: config.operator },
    load: () => rooms.load(),
    log,
  });
  registration.start();
  const close = async () => {
    registration.stop();
    await new Promise<void>((r) => server.close(() => r()));
    pool.close();
  };
  return { rooms, registration, close, log };
}

