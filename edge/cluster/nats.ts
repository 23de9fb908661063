/**
 * The edge's NATS connection and its two JetStream KV buckets (issue 12). NATS is the distributed engine:
 * leases and snapshots are replicated by JetStream's Raft, not by anything of ours. The client reconnects
 * by itself, forever; losing and regaining the servers is logged with stable event names.
 */
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '../core/logger.ts';
import { LEASE_HISTORY } from './room-lease.ts';
import type { ClusterSettings } from './settings.ts';

export const LEASE_BUCKET = 'treffpunkt-room-leases';
export const ROOM_BUCKET = 'treffpunkt-rooms';

export interface ClusterNats {
  nc: NatsConnection;
  leases: KV;
  rooms: KV;
  /** The largest message the servers accept (their max_payload; 1 MiB by default). */
  maxPayload: number;
  /** Whether the connection to a server is up now (from the client's status events). */
  connected(): boolean;
}

export async function connectClusterNats(settings: ClusterSettings, log: Logger): Promise<ClusterNats> {
  const { creds, user, password, token } = settings.auth;
  const nc = await connect({
    servers: settings.servers,
    name: `treffpunkt-edge-${settings.edgeId}`,
    maxReconnectAttempts: -1,
    // An edge may start before the NATS servers: it waits for them rather than exiting.
    waitOnFirstConnect: true,
    reconnectTimeWait: 250,
    // A dead server is noticed within seconds, not after the default two minutes of missed pings.
    pingInterval: 2_000,
    maxPingOut: 2,
    ...(creds ? { authenticator: credsAuthenticator(await readFile(creds)) } : {}),
    ...(user ? { user, pass: password } : {}),
    ...(token ? { token } : {}),
    ...(settings.tlsCa ? { tls: { caFile: settings.tlsCa } } : {}),
  });
  const link = { up: true };
  void watchStatus(nc, log, link);
  const kvm = new Kvm(jetstream(nc, { timeout: 2_000 }));
  // Create binds to an existing bucket with the same settings. Reads go to the stream's leader
  // (allow_direct off): a new owner must see the last snapshot, not a lagging replica's.
  const leases = await untilReady(log, () =>
    kvm.create(LEASE_BUCKET, {
      history: LEASE_HISTORY,
      ttl: settings.leaseMs,
      replicas: settings.replicas,
      allow_direct: false,
    }),
  );
  // A bucket made by an older edge keeps one message per key: a won lease could not be told apart from a
  // lost one (room-lease.ts). Raised in place; nothing else of its settings changes.
  const leaseStatus = await untilReady(log, () => leases.status());
  if (leaseStatus.history < LEASE_HISTORY) {
    const jsm = await jetstream(nc).jetstreamManager();
    await jsm.streams.update(leaseStatus.streamInfo.config.name, { max_msgs_per_subject: LEASE_HISTORY });
    log.info({ event: 'leaseBucketUpgraded', history: LEASE_HISTORY }, 'lease bucket keeps more messages per key');
  }
  const rooms = await untilReady(log, () =>
    kvm.create(ROOM_BUCKET, { history: 1, replicas: settings.replicas, allow_direct: false }),
  );
  return {
    nc,
    leases,
    rooms,
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    connected: () => link.up && !nc.isClosed(),
  };
}

/**
 * Retries while JetStream is not ready yet (a cluster still electing its leader answers with errors or
 * times out): an edge started beside its NATS servers waits for them instead of exiting.
 */
export async function untilReady<T>(log: Logger, task: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (err) {
      if (attempt === 1 || attempt % 10 === 0)
        log.warn({ event: 'natsNotReady', attempt, error: String(err) }, 'NATS JetStream not ready yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 2_000)));
    }
  }
}

async function watchStatus(nc: NatsConnection, log: Logger, link: { up: boolean }): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === 'disconnect') {
      link.up = false;
      log.warn(
        { event: 'natsDisconnected', server: s.server },
        'NATS: lost the server; owned rooms go on until their leases run out, then their signaling pauses ' +
          '(media keeps flowing) until NATS is back (docs/edge-cluster.md)',
      );
    } else if (s.type === 'reconnect') {
      link.up = true;
      log.warn({ event: 'natsReconnected', server: s.server }, 'NATS: connected again');
    } else if (s.type === 'error') log.warn({ event: 'natsError', error: String(s.error) }, 'NATS: error');
  }
}
