/**
 * Bundles the browser app (edge/web) into dist/web with esbuild: one ES module, minified, with a source
 * map; the HTML and CSS are copied beside it.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;

export async function buildWeb(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(`${out}/assets`, { recursive: true });
  await build({
    entryPoints: [`${root}edge/web/app.ts`],
    outfile: `${out}/assets/app.js`,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile(`${root}edge/web/index.html`, `${out}/index.html`);
  await copyFile(`${root}edge/web/style.css`, `${out}/assets/style.css`);
}

if (import.meta.main) await buildWeb();
