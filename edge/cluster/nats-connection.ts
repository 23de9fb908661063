/**
 * The edge's connection to its NATS cluster (TREFFPUNKT_NATS_URL: one or more comma-separated
 * nats://host:port URLs of the cluster's servers). The client reconnects forever: NATS going away is a
 * fault the edge rides out (docs/edge-cluster.md), not a reason to exit. Status changes are logged.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../core/logger.ts';

export async function connectNats(urls: readonly string[], log: Logger): Promise<NatsConnection> {
  const nc = await connect({ servers: [...urls], name: 'treffpunkt-edge', maxReconnectAttempts: -1 });
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') log.warn({ server: s.server }, 'NATS connection lost, reconnecting');
      else if (s.type === 'reconnect') log.info({ server: s.server }, 'NATS connection back');
    }
  })();
  return nc;
}
