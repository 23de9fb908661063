/**
 * Bundles the Cloudflare Worker (edge/cloudflare/entry.ts) into dist/worker/worker.js with esbuild, the
 * way wrangler does: one ES module, `cloudflare:*` imports left to the runtime. Self-hosted workerd and
 * the tests run this file; `wrangler deploy` bundles the same entry itself.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildWorker(): Promise<{ bytes: number }> {
  const result = await build({
    entryPoints: [`${root}edge/cloudflare/entry.ts`],
    outfile: `${root}dist/worker/worker.js`,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { bytes };
}

if (import.meta.main) console.log(`dist/worker/worker.js: ${(await buildWorker()).bytes} bytes`);
