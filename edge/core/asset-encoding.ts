/**
 * How the browser app's files are sent: which compression a browser accepts, and how long it may keep a
 * file. The script and stylesheet carry a content hash in their names (scripts/build-web.ts), so they
 * never change under a name and may be cached forever; the HTML names the current ones and is revalidated
 * on every visit (an ETag makes that a 304 with no body).
 */

export type AssetEncoding = 'br' | 'gzip';

/** File types worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = /\.(html|js|css|json|map|svg|txt)$/;

/** The best encoding the request accepts for `path` (brotli, then gzip), or none. */
export function preferredEncoding(path: string, acceptEncoding: string | undefined): AssetEncoding | undefined {
  if (!acceptEncoding || !COMPRESSIBLE.test(path)) return undefined;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    accepted.set(token.trim(), Number.isFinite(quality) ? quality : 0);
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return undefined;
}

/** A file name with a content hash from the build, e.g. app-BDNJV3LI.js or style-5AC6684A.css. */
const HASHED = /^\/assets\/[a-z]+-[A-Z0-9]{8,}\.[a-z0-9.]+$/;

export function cacheControlFor(path: string): string {
  return HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** The twin file the build wrote for an encoding ('/assets/app-X.js' → '/assets/app-X.js.br'). */
export function compressedPath(path: string, encoding: AssetEncoding): string {
  return `${path}.${encoding === 'br' ? 'br' : 'gz'}`;
}
