import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheControlFor, compressedPath, preferredEncoding } from '../../edge/core/asset-encoding.ts';

test('preferredEncoding: brotli first, then gzip, honouring q=0 and *; nothing for images or without the header', () => {
  assert.equal(preferredEncoding('/assets/app-ABCDEFGH.js', 'gzip, deflate, br, zstd'), 'br');
  assert.equal(preferredEncoding('/index.html', 'gzip'), 'gzip');
  assert.equal(preferredEncoding('/index.html', 'br;q=0, gzip;q=0.5'), 'gzip');
  assert.equal(preferredEncoding('/index.html', 'br;q=0, gzip;q=0'), undefined);
  assert.equal(preferredEncoding('/index.html', '*'), 'br');
  assert.equal(preferredEncoding('/index.html', '*, br;q=0'), 'gzip');
  assert.equal(preferredEncoding('/index.html', 'identity'), undefined);
  assert.equal(preferredEncoding('/index.html', undefined), undefined);
  assert.equal(preferredEncoding('/assets/logo.png', 'br'), undefined);
  assert.equal(preferredEncoding('/index.html', 'BR; Q=1'), 'br');
});

test('cacheControlFor: hashed build files forever, everything else revalidated', () => {
  assert.equal(cacheControlFor('/assets/app-BDNJV3LI.js'), 'public, max-age=31536000, immutable');
  assert.equal(cacheControlFor('/assets/style-5AC6684A.css'), 'public, max-age=31536000, immutable');
  assert.equal(cacheControlFor('/assets/app-BDNJV3LI.js.map'), 'public, max-age=31536000, immutable');
  assert.equal(cacheControlFor('/index.html'), 'no-cache');
  assert.equal(cacheControlFor('/assets/app.js'), 'no-cache');
});

test('compressedPath: the twin names scripts/build-web.ts writes', () => {
  assert.equal(compressedPath('/index.html', 'br'), '/index.html.br');
  assert.equal(compressedPath('/assets/app-X.js', 'gzip'), '/assets/app-X.js.gz');
});
