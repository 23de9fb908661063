/**
 * Bundles the browser app (edge/web) into dist/web with esbuild: one ES module, minified, with a source
 * map; the HTML and CSS are copied beside it. Everything the page needs is in here (icons are inline
 * SVG in the bundle): the edge serves it from its own origin and the CSP allows nothing else.
 */
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;

/**
 * zod bundles error messages in 40+ languages (about 260 kB minified) behind `z.locales`; the app only
 * shows its own texts and logs zod's English ones, so only the English locale goes into the bundle.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      loader: 'js',
      resolveDir: `${root}node_modules/zod/v4/locales`,
    }));
  },
};

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
    plugins: [zodEnglishOnly],
  });
  await copyFile(`${root}edge/web/index.html`, `${out}/index.html`);
  await copyFile(`${root}edge/web/style.css`, `${out}/assets/style.css`);
}

if (import.meta.main) await buildWeb();
