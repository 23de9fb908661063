/**
 * Bundles the browser app (edge/web) into dist/web with esbuild: one ES module, minified, with a source
 * map; the HTML and CSS are copied beside it. Everything the page needs is in here (icons are inline
 * SVG in the bundle): the edge serves it from its own origin and the CSP allows nothing else.
 *
 * The script and the stylesheet carry a content hash in their names (app-<hash>.js, style-<hash>.css),
 * so the edge can let browsers cache them forever (`immutable`) and a returning visitor loads nothing but
 * the HTML, which names the current ones. Each text file also gets a brotli (.br) and gzip (.gz) twin,
 * compressed once here at the highest levels, which the Node edge sends to browsers that accept them.
 */
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

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

/** Writes `path` and its compressed twins `path.br` and `path.gz`. */
async function writeCompressed(path: string, body: Buffer): Promise<void> {
  await writeFile(path, body);
  const brotli = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  await writeFile(`${path}.br`, brotli);
  await writeFile(`${path}.gz`, gzipSync(body, { level: 9 }));
}

export async function buildWeb(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(`${out}/assets`, { recursive: true });
  const result = await build({
    entryPoints: [`${root}edge/web/app.ts`],
    outdir: `${out}/assets`,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [zodEnglishOnly],
    metafile: true,
    write: false,
  });
  let script = '';
  for (const file of result.outputFiles) {
    const name = file.path.slice(`${out}/assets/`.length);
    if (name.endsWith('.js')) script = name;
    // The source map is only fetched by developer tools: not worth compressing.
    if (name.endsWith('.js')) await writeCompressed(file.path, Buffer.from(file.contents));
    else await writeFile(file.path, file.contents);
  }
  const css = await readFile(`${root}edge/web/style.css`);
  const stylesheet = `style-${createHash('sha256').update(css).digest('hex').slice(0, 8).toUpperCase()}.css`;
  await writeCompressed(`${out}/assets/${stylesheet}`, css);
  const html = (await readFile(`${root}edge/web/index.html`, 'utf8'))
    .replace('/assets/style.css', `/assets/${stylesheet}`)
    .replace('/assets/app.js', `/assets/${script}`);
  if (!html.includes(script) || !html.includes(stylesheet))
    throw new Error('edge/web/index.html must link /assets/style.css and /assets/app.js');
  await writeCompressed(`${out}/index.html`, Buffer.from(html));
}

/** The hashed file name of the app's script in a built dist/web (for benchmarks and tests). */
export async function builtScriptName(dir = out): Promise<string> {
  const html = await readFile(`${dir}/index.html`, 'utf8');
  const name = /\/assets\/(app-[A-Z0-9]+\.js)/.exec(html)?.[1];
  if (!name) throw new Error(`${dir}/index.html names no app-<hash>.js`);
  return name;
}

if (import.meta.main) await buildWeb();
