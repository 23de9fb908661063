/**
 * The browser app's files for the Node edge, read once at start into memory: a fixed set of names, so no
 * request path can reach outside the folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

export async function loadAssets(dir: string) {
  const files = new Map<string, { body: Uint8Array; contentType: string }>();
  const walk = async (sub: string) => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = `${sub}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else files.set(rel, { body: await readFile(join(dir, rel)), contentType: TYPES[extname(entry.name)] ?? 'application/octet-stream' });
    }
  };
  await walk('');
  if (!files.has('/index.html')) throw new Error(`${dir} has no index.html: build the web app first (npm run build:web)`);
  return async (path: string) => {
    const f = files.get(path);
    return f ? { body: f.body.slice().buffer as ArrayBuffer, contentType: f.contentType } : null;
  };
}
