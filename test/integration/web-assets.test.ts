/**
 * The browser app's files on the wire, for the Node edge and the Worker build in workerd: compressed for
 * browsers that accept it (brotli, then gzip; the bytes decode to exactly the built file), hashed files
 * cached as immutable, and the HTML revalidated with an ETag so that a returning visitor loads nothing but
 * a 304.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { builtScriptName } from '../../scripts/build-web.ts';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';

const web = fileURLToPath(new URL('../../dist/web', import.meta.url));

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with node:http, which (unlike fetch) hands over the body exactly as it came. */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decoded(res: Raw): Buffer {
  const encoding = res.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(res.body);
  if (encoding === 'gzip') return gunzipSync(res.body);
  assert.equal(encoding, undefined, `unexpected content-encoding ${encoding}`);
  return res.body;
}

for (const runtime of EDGE_RUNTIMES) {
  describe(`web app assets on the wire (${runtime} edge)`, () => {
    let stack: Stack;
    let script: string;
    before(async () => {
      stack = await startStack({ runtime });
      script = await builtScriptName(web);
    });
    after(() => stack?.stop());

    test('the script: brotli when accepted, gzip otherwise, plain without; always the built bytes; immutable', async () => {
      const built = await readFile(`${web}/assets/${script}`);
      const url = `${stack.edgeUrl}/assets/${script}`;
      const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(br.status, 200);
      // The Node edge sends the build's brotli twin. workerd compresses itself, and behind Miniflare's
      // proxy it answers gzip even to a request that prefers brotli: compressed either way.
      if (runtime === 'node') assert.equal(br.headers['content-encoding'], 'br');
      else assert.ok(['br', 'gzip'].includes(String(br.headers['content-encoding'])), 'compressed');
      assert.ok(br.body.length < built.length / 3, `brotli: ${br.body.length} of ${built.length} bytes`);
      assert.ok(decoded(br).equals(built), 'brotli body decodes to the built script');
      assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.match(String(br.headers.vary), /accept-encoding/i);

      const gz = await get(url, { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(decoded(gz).equals(built), 'gzip body decodes to the built script');

      const refusesBrotli = await get(url, { 'accept-encoding': 'br;q=0, gzip' });
      assert.equal(refusesBrotli.headers['content-encoding'], 'gzip');

      const plain = await get(url, { 'accept-encoding': 'identity' });
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.equals(built), 'identity body is the built script');
    });

    test('the HTML: compressed, revalidated every visit, and a 304 for a returning visitor', async () => {
      const built = await readFile(`${web}/index.html`);
      for (const path of ['/', '/some-room']) {
        const first = await get(`${stack.edgeUrl}${path}`, { 'accept-encoding': 'br, gzip' });
        assert.equal(first.status, 200);
        assert.ok(decoded(first).equals(built), `${path}: the built index.html`);
        assert.equal(first.headers['cache-control'], 'no-cache');
        const etag = first.headers.etag;
        assert.equal(typeof etag, 'string', `${path}: an ETag`);
        const again = await get(`${stack.edgeUrl}${path}`, {
          'accept-encoding': 'br, gzip',
          'if-none-match': String(etag),
        });
        assert.equal(again.status, 304, `${path}: a returning visitor gets 304`);
        assert.equal(again.body.length, 0);
      }
      assert.ok(built.includes(`/assets/${script}`), 'the HTML names the hashed script');
    });
  });
}
