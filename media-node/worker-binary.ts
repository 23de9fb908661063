/**
 * Where the mediasoup worker binary is. mediasoup reads MEDIASOUP_WORKER_BIN once, when its module is
 * loaded, so the CLI settles this before it imports anything that imports mediasoup.
 *
 * Order: MEDIASOUP_WORKER_BIN if set; the worker inside node_modules (mediasoup's own download, online
 * installs); the offline-built worker in the cache that scripts/setup.sh fills.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** mediasoup's package folder (its `exports` hide package.json from require). */
function mediasoupDir(): string {
  const main = createRequire(import.meta.url).resolve('mediasoup');
  return main.slice(0, main.lastIndexOf('/node/lib/'));
}

export function mediasoupVersion(): string {
  return (JSON.parse(readFileSync(join(mediasoupDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

export function cachedWorkerPath(env: Record<string, string | undefined> = process.env): string {
  const cache = env.TREFFPUNKT_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'treffpunkt');
  return join(cache, `mediasoup-worker-${mediasoupVersion()}`);
}

/** Sets MEDIASOUP_WORKER_BIN when needed; returns the binary used, or throws with what to do. */
export function settleWorkerBinary(env: Record<string, string | undefined> = process.env): string {
  if (env.MEDIASOUP_WORKER_BIN) {
    if (!existsSync(env.MEDIASOUP_WORKER_BIN))
      throw new Error(`MEDIASOUP_WORKER_BIN=${env.MEDIASOUP_WORKER_BIN} does not exist`);
    return env.MEDIASOUP_WORKER_BIN;
  }
  const bundled = join(mediasoupDir(), 'worker/out/Release/mediasoup-worker');
  if (existsSync(bundled)) return bundled;
  const cached = cachedWorkerPath(env);
  if (existsSync(cached)) {
    env.MEDIASOUP_WORKER_BIN = cached;
    return cached;
  }
  throw new Error(
    `no mediasoup worker found (looked in node_modules and ${cached}); run scripts/setup.sh or set MEDIASOUP_WORKER_BIN`,
  );
}
