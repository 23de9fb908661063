/**
 * The mediasoup workers of this node: one per configured core, each with one WebRtcServer on a fixed
 * UDP+TCP port (firewall-friendly: one port per worker instead of a port per transport).
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../shared/logger.ts';
import type { MediaNodeConfig } from './config.ts';

export interface PooledWorker {
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  routers: number;
}

export class WorkerPool {
  readonly workers: PooledWorker[];

  private constructor(workers: PooledWorker[]) {
    this.workers = workers;
  }

  /** @param onDied called when a worker process dies; the node cannot serve its rooms any more. */
  static async create(config: MediaNodeConfig, log: Logger, onDied: (err: Error) => void): Promise<WorkerPool> {
    const pooled: PooledWorker[] = [];
    try {
      for (let i = 0; i < config.workers; i++) {
        const worker = await mediasoup.createWorker({
          logLevel: config.logLevel === 'debug' ? 'debug' : 'warn',
          rtcMinPort: config.workerMinPort,
          rtcMaxPort: config.workerMaxPort,
          appData: { index: i },
        });
        worker.on('died', (err) => {
          log.error({ worker: i, pid: worker.pid, err: err.message }, 'mediasoup worker died');
          onDied(err);
        });
        const port = config.rtcPort + i;
        const webRtcServer = await worker.createWebRtcServer({
          listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
            protocol,
            ip: config.listenIp,
            ...(config.announcedAddress ? { announcedAddress: config.announcedAddress } : {}),
            port,
          })),
        });
        pooled.push({ worker, webRtcServer, routers: 0 });
        log.info({ worker: i, pid: worker.pid, port }, 'mediasoup worker ready');
      }
    } catch (err) {
      for (const w of pooled) w.worker.close();
      throw err;
    }
    return new WorkerPool(pooled);
  }

  /** The worker with the fewest routers: rooms spread evenly over the cores. */
  leastLoaded(): PooledWorker {
    return this.workers.reduce((a, b) => (b.routers < a.routers ? b : a));
  }

  close(): void {
    for (const w of this.workers) w.worker.close();
  }
}
