/**
 * A running media node: the mediasoup workers, the TURN service, the control API and the registration with
 * the edge (which carries the TURN URLs and secret).
 * Imports mediasoup: load it only after MEDIASOUP_WORKER_BIN is settled (see worker-binary.ts).
 */
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import type { MediaNodeConfig } from './config.ts';
import { checkAnnouncedAddress } from './address-check.ts';
import { createControlApi } from './control-api.ts';
import { ControlCalls, controlHandlers } from './control-calls.ts';
import { MediaRooms } from './media-rooms.ts';
import { startMediaNodeMetrics } from './metrics.ts';
import { Reaper } from './reaper.ts';
import { EdgeRegistration } from './registration.ts';
import { startTurnService } from './turn/turn-service.ts';
import { WorkerPool } from './worker-pool.ts';

/** `clock`: the signing clock, for tests only (main.ts: TREFFPUNKT_TEST_CLOCK_OFFSET_MS). */
export async function startMediaNode(config: MediaNodeConfig, clock?: () => number) {
  const log = pino({
    level: config.logLevel,
    base: { service: 'media-node', node: config.nodeId },
    redact: ['secret', '*.secret', '*.*.secret'],
  });
  if (config.allowInsecureHttp) {
    log.warn(
      { edges: config.edgeUrls, controlUrl: config.controlUrl },
      'TREFFPUNKT_ALLOW_INSECURE_HTTP is set: plain http beyond loopback is allowed, so node traffic (the TURN secret included) can be read on the way',
    );
  }
  let healthy = true;
  const die = () => {
    // A dead worker takes its routers with it (a dead coturn its relays). Exit so that the supervisor
    // restarts the node; the edge notices the missing heartbeats and moves the rooms to other nodes.
    healthy = false;
    setTimeout(() => process.exit(1), 500).unref();
  };
  const pool = await WorkerPool.create(config, log, die);
  // Not awaited: a slow probe must not hold up the start; its finding is a log line.
  void checkAnnouncedAddress(config.announcedAddress ?? config.listenIp, config.rtcPort, log);
  let turn: Awaited<ReturnType<typeof startTurnService>>;
  try {
    turn = await startTurnService(config, log.child({ component: 'turn' }), (why) => {
      log.error({ why }, 'TURN service died');
      die();
    });
  } catch (err) {
    pool.close();
    throw new Error(`TURN (${config.turn.mode}) failed to start: ${(err as Error).message}`);
  }
  // Events go out through the registration, which exists only once the control API is up.
  let registration: EdgeRegistration | undefined;
  const rooms = new MediaRooms(
    pool,
    (room, event) => registration?.sendEvent(room, event),
    { ip: config.listenIp, announcedAddress: config.announcedAddress },
    { keyFrameRequestDelayMs: config.keyFrameRequestDelayMs },
  );
  // The control operations, one for both ways the edge calls them: the HTTP control API and the node link.
  const calls = new ControlCalls(controlHandlers(rooms), log);
  const app = createControlApi({
    secrets: [config.secret, ...(config.previousSecret ? [config.previousSecret] : [])],
    rooms,
    log,
    healthy: () => healthy,
    diagnostics: config.diagnostics,
    calls,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.apiHost, port: config.apiPort }, () => resolve(s));
    s.once('error', reject);
  });
  log.info({ url: config.controlUrl, diagnostics: config.diagnostics }, 'control API listening');
  const metrics = await startMediaNodeMetrics(config, pool, turn, log);
  registration = new EdgeRegistration({
    edgeUrls: config.edgeUrls,
    secret: config.secret,
    registration: {
      nodeId: config.nodeId,
      controlUrl: config.controlUrl,
      region: config.region,
      operator: config.operator,
      ...(config.jurisdiction ? { jurisdiction: config.jurisdiction } : {}),
      ...(turn ? { turn: { urls: turn.urls, secret: turn.secret } } : {}),
      media: { address: config.announcedAddress ?? config.listenIp, tcpPort: config.rtcPort },
    },
    load: () => rooms.load(),
    log,
    rooms,
    calls,
    ...(clock ? { now: clock } : {}),
  });
  registration.start();
  const reaper = new Reaper(
    rooms,
    { transportMs: config.reapTransportSeconds * 1000, routerMs: config.reapRouterSeconds * 1000 },
    log,
  );
  reaper.start();
  /**
   * Graceful stop: the edge moves this node's rooms elsewhere (participants re-publish there), and the
   * node exits once it carries no transports, or after the drain timeout. Returns how it ended.
   */
  const drain = async (): Promise<'empty' | 'timeout' | 'edge-unreachable'> => {
    if (!registration?.registered) return 'edge-unreachable';
    try {
      await registration.drain();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not tell the edge that this node drains; stopping anyway');
      return 'edge-unreachable';
    }
    log.info(
      { timeoutMs: config.drainTimeoutMs, load: rooms.load() },
      'draining: waiting for the edge to move the rooms away',
    );
    const deadline = Date.now() + config.drainTimeoutMs;
    while (Date.now() < deadline) {
      if (rooms.load().transports === 0) return 'empty';
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'timeout';
  };
  const close = async () => {
    // First: the node link says `stopping` before it closes, so that the edge counts no death.
    await registration?.stop();
    reaper.stop();
    await new Promise<void>((r) => server.close(() => r()));
    await metrics?.close();
    await turn?.close();
    pool.close();
  };
  return { rooms, registration, turn, drain, close, log, metricsPort: metrics?.port };
}
