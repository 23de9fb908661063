/**
 * The Cloudflare deployment is one command away: `wrangler deploy --dry-run` bundles the Worker from
 * wrangler.toml (Durable Object bindings, migrations, assets) without contacting Cloudflare.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('wrangler deploy --dry-run succeeds and binds both Durable Objects and the assets', async () => {
  const out = await mkdtemp(join(tmpdir(), 'treffpunkt-wrangler-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`${root}node_modules/wrangler/bin/wrangler.js`, 'deploy', '--dry-run', '--outdir', out],
      {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
        timeout: 120_000,
      },
    );
    assert.match(stdout, /env\.ROOMS \(RoomObject\)\s+Durable Object/);
    assert.match(stdout, /env\.REGISTRY \(NodeRegistryObject\)\s+Durable Object/);
    assert.match(stdout, /env\.ASSETS\s+Assets/);
    assert.match(stdout, /--dry-run: exiting now/);
    const bundle = await readFile(join(out, 'entry.js'), 'utf8');
    assert.match(bundle, /class \w+ extends \w+/, 'the bundle contains the Durable Object classes');
    assert.doesNotMatch(bundle, /from ?"node:/, 'the Worker bundle imports no Node module');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
