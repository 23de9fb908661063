/** The edge core must run on every runtime: it may not import Node, Cloudflare, Deno or Bun modules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FORBIDDEN = /from\s+['"](node:|cloudflare:|bun:|@hono\/node-|ws['"]|pino['"]|mediasoup['"])/;

test('edge/core and shared import no runtime', () => {
  for (const dir of ['../../edge/core', '../../shared']) {
    const path = fileURLToPath(new URL(dir, import.meta.url));
    // Recursive: the room's parts live in edge/core/room/.
    const files = readdirSync(path, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 3, `${dir} has files`);
    for (const f of files) {
      const offending = readFileSync(`${path}/${f}`, 'utf8')
        .split('\n')
        .filter((l) => FORBIDDEN.test(l));
      assert.deepEqual(offending, [], `${dir}/${f} imports a runtime module`);
    }
  }
});
