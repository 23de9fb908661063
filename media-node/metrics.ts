/**
 * The media node's Prometheus metrics (prom-client) on its own listener (TREFFPUNKT_METRICS_ADDR). Counts
 * come from mediasoup's observer events (every router, transport, producer and consumer of the node's
 * workers, pipes included), so the media code needs no hooks. Bitrates, packet loss and RTT come from
 * getStats(): sampled when scraped, at most once per TREFFPUNKT_METRICS_STATS_INTERVAL_MS and for a
 * bounded number of objects, so a busy node's scrape costs a bounded number of worker round trips. No
 * labels name a room or a participant. Every name here is in docs/grafana-dashboard.json.
 */
import { serve } from '@hono/node-server';
import type { types } from 'mediasoup';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';
import { metricsApp } from '../shared/metrics-endpoint.ts';
import { tokenCheck } from '../shared/token-check.ts';
import type { MediaNodeConfig } from './config.ts';
import type { TurnService } from './turn/turn-service.ts';
import type { WorkerPool } from './worker-pool.ts';

/** Per sample, at most this many of each are asked for stats (one worker round trip each). */
export const MAX_SAMPLED_TRANSPORTS = 200;
export const MAX_SAMPLED_STREAMS = 500;

/** What one getStats() sample found. */
interface Sample {
  at: number;
  bitrate: { in: Record<string, number>; out: Record<string, number> };
  lossIn: number[];
  lossOut: number[];
  rttMs: number[];
  sampled: { transports: number; producers: number; consumers: number };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);

/** Keeps live sets of the node's mediasoup objects, fed by observer events. */
class MediaObjects {
  readonly routers = new Set<types.Router>();
  readonly transports = new Set<types.Transport>();
  readonly producers = new Set<types.Producer>();
  readonly consumers = new Set<types.Consumer>();

  constructor(pool: WorkerPool) {
    for (const { worker } of pool.workers) {
      worker.observer.on('newrouter', (router) => {
        this.#track(this.routers, router);
        router.observer.on('newtransport', (transport) => {
          this.#track(this.transports, transport);
          transport.observer.on('newproducer', (p) => this.#track(this.producers, p));
          transport.observer.on('newconsumer', (c) => this.#track(this.consumers, c));
        });
      });
    }
  }

  #track<T extends { observer: { once(e: 'close', f: () => void): unknown } }>(set: Set<T>, item: T): void {
    set.add(item);
    item.observer.once('close', () => set.delete(item));
  }
}

export function createMediaNodeMetrics(pool: WorkerPool, turn: TurnService | undefined, statsIntervalMs: number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'treffpunkt_node_' });
  const objects = new MediaObjects(pool);
  let sample: Sample | undefined;
  let pending: Promise<Sample> | undefined;

  const takeSample = async (): Promise<Sample> => {
    const s: Sample = {
      at: Date.now(),
      bitrate: { in: {}, out: {} },
      lossIn: [],
      lossOut: [],
      rttMs: [],
      sampled: { transports: 0, producers: 0, consumers: 0 },
    };
    const settle = <T>(p: Promise<T>) => p.catch(() => undefined); // closed meanwhile
    const transports = [...objects.transports].slice(0, MAX_SAMPLED_TRANSPORTS);
    const producers = [...objects.producers].slice(0, MAX_SAMPLED_STREAMS);
    const consumers = [...objects.consumers].slice(0, MAX_SAMPLED_STREAMS);
    const [tStats, pStats, cStats] = await Promise.all([
      Promise.all(
        transports.map((t) => settle(t.getStats() as Promise<{ recvBitrate: number; sendBitrate: number }[]>)),
      ),
      Promise.all(producers.map((p) => settle(p.getStats()))),
      Promise.all(consumers.map((c) => settle(c.getStats()))),
    ]);
    transports.forEach((t, i) => {
      for (const st of tStats[i] ?? []) {
        s.bitrate.in[t.type] = (s.bitrate.in[t.type] ?? 0) + st.recvBitrate;
        s.bitrate.out[t.type] = (s.bitrate.out[t.type] ?? 0) + st.sendBitrate;
      }
    });
    // fractionLost is RTCP's 8-bit fraction (lost/256) of the last report interval.
    for (const list of pStats) for (const st of list ?? []) s.lossIn.push(st.fractionLost / 256);
    for (const list of cStats)
      for (const st of list ?? []) {
        if (st.type !== 'outbound-rtp') continue;
        s.lossOut.push(st.fractionLost / 256);
        if (st.roundTripTime !== undefined && st.roundTripTime > 0) s.rttMs.push(st.roundTripTime);
      }
    s.sampled = { transports: transports.length, producers: producers.length, consumers: consumers.length };
    return s;
  };

  /** The newest sample, taken now if the last is older than the interval (one at a time). */
  const current = async (): Promise<Sample> => {
    if (sample && Date.now() - sample.at < statsIntervalMs) return sample;
    pending ??= takeSample().finally(() => (pending = undefined));
    sample = await pending;
    return sample;
  };

  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void | Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await collect(this);
      },
    });

  gauge('treffpunkt_node_workers', 'mediasoup workers of this node.', [], (g) => g.set(pool.workers.length));
  gauge(
    'treffpunkt_node_worker_cpu_seconds',
    'CPU time (user + system) each mediasoup worker used since it started; use rate().',
    ['worker'],
    async (g) => {
      for (const [i, { worker }] of pool.workers.entries()) {
        const u = await worker.getResourceUsage().catch(() => undefined);
        // ru_utime and ru_stime are in ms (libuv's uv_getrusage, as mediasoup reports them).
        if (u) g.set({ worker: String(i) }, (u.ru_utime + u.ru_stime) / 1000);
      }
    },
  );
  gauge(
    'treffpunkt_node_worker_max_rss_bytes',
    'Peak resident memory of each mediasoup worker.',
    ['worker'],
    async (g) => {
      for (const [i, { worker }] of pool.workers.entries()) {
        const u = await worker.getResourceUsage().catch(() => undefined);
        if (u) g.set({ worker: String(i) }, u.ru_maxrss * 1024);
      }
    },
  );
  gauge('treffpunkt_node_routers', 'Routers (one per room and worker).', [], (g) => g.set(objects.routers.size));
  gauge('treffpunkt_node_transports', 'Transports by type (webrtc, pipe, plain, direct).', ['type'], (g) => {
    const counts: Record<string, number> = { webrtc: 0, pipe: 0 };
    for (const t of objects.transports) counts[t.type] = (counts[t.type] ?? 0) + 1;
    for (const [type, n] of Object.entries(counts)) g.set({ type }, n);
  });
  gauge('treffpunkt_node_pipes', 'Pipe transports: links to routers on this or other nodes.', [], (g) =>
    g.set([...objects.transports].filter((t) => t.type === 'pipe').length),
  );
  gauge('treffpunkt_node_producers', 'Producers by kind (piped-in ones included).', ['kind'], (g) => {
    const counts = { audio: 0, video: 0 };
    for (const p of objects.producers) counts[p.kind]++;
    for (const [kind, n] of Object.entries(counts)) g.set({ kind }, n);
  });
  gauge('treffpunkt_node_consumers', 'Consumers by kind.', ['kind'], (g) => {
    const counts = { audio: 0, video: 0 };
    for (const c of objects.consumers) counts[c.kind]++;
    for (const [kind, n] of Object.entries(counts)) g.set({ kind }, n);
  });
  gauge(
    'treffpunkt_node_bitrate_bits_per_second',
    'Bitrate through the transports (sampled), by direction (in, out) and transport type.',
    ['direction', 'type'],
    async (g) => {
      const s = await current();
      g.reset();
      for (const direction of ['in', 'out'] as const)
        for (const [type, bps] of Object.entries(s.bitrate[direction])) g.set({ direction, type }, bps);
    },
  );
  gauge(
    'treffpunkt_node_packet_loss_ratio',
    'Fraction of packets lost in the last RTCP interval (sampled): in = from senders (producers), out = to receivers (consumers); mean and max over streams.',
    ['direction', 'stat'],
    async (g) => {
      const s = await current();
      g.set({ direction: 'in', stat: 'mean' }, mean(s.lossIn));
      g.set({ direction: 'in', stat: 'max' }, max(s.lossIn));
      g.set({ direction: 'out', stat: 'mean' }, mean(s.lossOut));
      g.set({ direction: 'out', stat: 'max' }, max(s.lossOut));
    },
  );
  gauge(
    'treffpunkt_node_rtt_seconds',
    'Round-trip time to receivers from RTCP (sampled consumers that reported one); mean and max.',
    ['stat'],
    async (g) => {
      const s = await current();
      g.set({ stat: 'mean' }, mean(s.rttMs) / 1000);
      g.set({ stat: 'max' }, max(s.rttMs) / 1000);
    },
  );
  gauge(
    'treffpunkt_node_stats_sampled',
    'Objects the last getStats() sample covered (bounded per sample).',
    ['kind'],
    async (g) => {
      const s = await current();
      for (const [kind, n] of Object.entries(s.sampled)) g.set({ kind }, n);
    },
  );
  // The embedded TURN server counts; coturn keeps its own (its CLI/Prometheus exporter, docs/metrics.md).
  if (turn?.mode === 'embedded') {
    gauge('treffpunkt_node_turn_allocations', 'TURN allocations now (embedded TURN).', [], (g) =>
      g.set(turn.stats()?.allocations ?? 0),
    );
    gauge(
      'treffpunkt_node_turn_allocations_created',
      'TURN allocations made since start (embedded TURN); use rate().',
      [],
      (g) => g.set(turn.stats()?.allocationsCreated ?? 0),
    );
    gauge(
      'treffpunkt_node_turn_packets',
      'Packets the embedded TURN server handled since start, by outcome (relayed, dropped, refused_peer); use rate().',
      ['outcome'],
      (g) => {
        const st = turn.stats();
        if (!st) return;
        g.set({ outcome: 'relayed' }, st.packets);
        g.set({ outcome: 'dropped' }, st.dropped);
        g.set({ outcome: 'refused_peer' }, st.refusedPeers);
      },
    );
  }
  return registry;
}

/** Starts the listener if TREFFPUNKT_METRICS_ADDR is set; its close, or undefined. */
export async function startMediaNodeMetrics(
  config: MediaNodeConfig,
  pool: WorkerPool,
  turn: TurnService | undefined,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> } | undefined> {
  const addr = config.metricsAddr;
  if (!addr) return undefined;
  const registry = createMediaNodeMetrics(pool, turn, config.metricsStatsInterval);
  const app = metricsApp(
    async () => ({ body: await registry.metrics(), contentType: registry.contentType }),
    config.metricsToken ? await tokenCheck(config.metricsToken) : undefined,
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: addr.host, port: addr.port }, () => resolve(s));
    s.once('error', reject);
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : addr.port;
  log.info({ host: addr.host, port, protected: config.metricsToken !== undefined }, 'metrics listening on /metrics');
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
