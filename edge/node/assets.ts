/**
 * The browser app's files for the Node edge, read once at start into memory: a fixed set of names, so no
 * request path can reach outside the folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function loadAssets(dir: string): Promise<(path: string) => Promise<ArrayBuffer | null>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (sub: string) => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = `${sub}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else files.set(rel, await readFile(join(dir, rel)));
    }
  };
  await walk('');
  if (!files.has('/index.html'))
    throw new Error(`${dir} has no index.html: build the web app first (npm run build:web)`);
  return async (path) => {
    const f = files.get(path);
    return f ? (f.slice().buffer as ArrayBuffer) : null;
  };
}
