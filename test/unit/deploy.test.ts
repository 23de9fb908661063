/**
 * Installing like other services (issue 17): the systemd units in deploy/systemd pass `systemd-analyze
 * verify` (with /opt/treffpunkt pointed at this checkout, so the ExecStart programs exist) and keep
 * their hardening; the config file format (shared/env-file.ts) and both services' loading of it, with
 * environment overrides, secret files and clear errors for bad values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError } from '../../shared/config-error.ts';
import { parseEnvFile } from '../../shared/env-file.ts';
import { loadEdgeEnvironment } from '../../edge/node/environment.ts';
import { parseOpsSettings } from '../../edge/node/ops-settings.ts';
import { loadMediaNodeEnvironment } from '../../media-node/environment.ts';
import { loadMediaNodeConfig } from '../../media-node/config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const UNITS = ['treffpunkt-edge.service', 'treffpunkt-media-node.service'];

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('the systemd units pass systemd-analyze verify and keep their hardening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-units-'));
  for (const unit of UNITS) {
    const text = readFileSync(join(root, 'deploy/systemd', unit), 'utf8');
    writeFileSync(join(dir, unit), text.replaceAll('/opt/treffpunkt/', root));
    for (const line of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'CapabilityBoundingSet='])
      assert.ok(text.split('\n').includes(line), `${unit} has ${line}`);
    assert.ok(!/^AmbientCapabilities=\S/m.test(text), `${unit} grants no capability by default`);
    assert.match(text, /^Environment=TREFFPUNKT_CONFIG_FILE=\/etc\/treffpunkt\//m);
  }
  assert.match(readFileSync(join(root, 'deploy/systemd', UNITS[0]!), 'utf8'), /^StateDirectory=treffpunkt-edge$/m);
  const { stdout, stderr } = await run('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))]);
  // verify exits 0 on unknown or mistyped settings too, but says so on stderr.
  assert.equal(`${stdout}${stderr}`.trim(), '');
});

test('the config file format: comments, quotes, escapes; strict about names and lines', () => {
  const known = new Set(['TREFFPUNKT_A', 'TREFFPUNKT_B', 'TREFFPUNKT_C', 'TREFFPUNKT_D']);
  assert.deepEqual(
    parseEnvFile(
      '# c\n\nTREFFPUNKT_A=1 # note\nexport TREFFPUNKT_B="x \\"y\\"\\nz"\nTREFFPUNKT_C=\'[{"a": 1}]\'\nTREFFPUNKT_D=\n',
      'f.env',
      known,
    ),
    { TREFFPUNKT_A: '1', TREFFPUNKT_B: 'x "y"\nz', TREFFPUNKT_C: '[{"a": 1}]', TREFFPUNKT_D: '' },
  );
  assert.deepEqual(
    problems(() =>
      parseEnvFile('TREFFPUNKT_A=1\nTREFFPUNKT_TYPO=2\nnonsense\nTREFFPUNKT_A=3\nTREFFPUNKT_B="open\n', 'f.env', known),
    ),
    [
      'f.env:2: TREFFPUNKT_TYPO is not a setting of this service',
      'f.env:3: expected NAME=value',
      'f.env:4: TREFFPUNKT_A is set twice',
      'f.env:5: unterminated "…" value',
    ],
  );
});

test('the edge reads its config file, the environment wins, secrets come from files or credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-conf-'));
  const file = join(dir, 'edge.env');
  writeFileSync(
    file,
    'TREFFPUNKT_EDGE_PORT=9000\nTREFFPUNKT_LOG_LEVEL=debug\nTREFFPUNKT_ADMIN_TOKEN_FILE=admin-token\n',
  );
  writeFileSync(join(dir, 'admin-token'), `${'t'.repeat(40)}\n`);
  chmodSync(join(dir, 'admin-token'), 0o600);
  const known = new Set(['TREFFPUNKT_EDGE_PORT', 'TREFFPUNKT_LOG_LEVEL', 'TREFFPUNKT_ADMIN_TOKEN']);
  const env = loadEdgeEnvironment(
    { TREFFPUNKT_CONFIG_FILE: file, TREFFPUNKT_LOG_LEVEL: 'warn', CREDENTIALS_DIRECTORY: dir },
    known,
  );
  assert.equal(env.TREFFPUNKT_EDGE_PORT, '9000');
  assert.equal(env.TREFFPUNKT_LOG_LEVEL, 'warn', 'the environment overrides the file');
  assert.equal(env.TREFFPUNKT_ADMIN_TOKEN, 't'.repeat(40), 'relative to $CREDENTIALS_DIRECTORY, newline trimmed');

  chmodSync(join(dir, 'admin-token'), 0o644);
  assert.deepEqual(
    problems(() => loadEdgeEnvironment({ TREFFPUNKT_ADMIN_TOKEN_FILE: join(dir, 'admin-token') }, known)),
    [`TREFFPUNKT_ADMIN_TOKEN_FILE: ${join(dir, 'admin-token')} is readable by group or others; chmod 600 it`],
  );
  assert.deepEqual(
    problems(() => loadEdgeEnvironment({ TREFFPUNKT_CONFIG_FILE: join(dir, 'missing.env') }, known)),
    [`TREFFPUNKT_CONFIG_FILE: cannot read ${join(dir, 'missing.env')}: ENOENT`],
  );
});

test('bad operations settings are refused with the setting and the reason, never the value', () => {
  const secret = 'webhook-secret-value-0123456789';
  const found = problems(() =>
    parseOpsSettings({
      TREFFPUNKT_ADMIN_TOKEN: 'short',
      TREFFPUNKT_WEBHOOKS: JSON.stringify([{ url: 'ftp://x', secret }]),
      TREFFPUNKT_WEBHOOK_QUEUE: '0',
    }),
  );
  assert.deepEqual(found, [
    'TREFFPUNKT_ADMIN_TOKEN: must be at least 32 characters (e.g. openssl rand -hex 32)',
    'TREFFPUNKT_WEBHOOKS.0.url: must be an http(s) URL',
    'TREFFPUNKT_WEBHOOK_QUEUE: Too small: expected number to be >=1',
  ]);
  assert.ok(!found.join('\n').includes(secret));
  assert.deepEqual(
    problems(() => parseOpsSettings({ TREFFPUNKT_METRICS_ADDR: '0.0.0.0:9464' })),
    [
      'TREFFPUNKT_METRICS_ADDR: 0.0.0.0 is beyond loopback; set TREFFPUNKT_METRICS_TOKEN too, so that metrics are not public',
    ],
  );
  assert.deepEqual(
    problems(() => parseOpsSettings({ TREFFPUNKT_METRICS_ADDR: 'nowhere' })),
    ['TREFFPUNKT_METRICS_ADDR: must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464'],
  );
  assert.deepEqual(parseOpsSettings({ TREFFPUNKT_METRICS_ADDR: '[::1]:0' }).TREFFPUNKT_METRICS_ADDR, {
    host: '::1',
    port: 0,
  });
});

test('the example config files load in their services', () => {
  const env = loadEdgeEnvironment(
    { TREFFPUNKT_CONFIG_FILE: join(root, 'deploy/systemd/edge.env.example') },
    new Set([
      'TREFFPUNKT_EDGE_HOST',
      'TREFFPUNKT_EDGE_PORT',
      'TREFFPUNKT_LOG_LEVEL',
      'TREFFPUNKT_GUEST_POLICY',
      'TREFFPUNKT_METRICS_ADDR',
      'TREFFPUNKT_TRUSTED_ISSUERS',
    ]),
  );
  assert.equal(parseOpsSettings(env).TREFFPUNKT_METRICS_ADDR?.port, 9464);
  const nodeEnv = loadMediaNodeEnvironment({
    TREFFPUNKT_CONFIG_FILE: join(root, 'deploy/systemd/media-node.env.example'),
    TREFFPUNKT_NODE_SECRET: 's'.repeat(32),
    TREFFPUNKT_TURN_MODE: 'off',
  });
  const config = loadMediaNodeConfig([], nodeEnv);
  assert.equal(config.nodeId, 'media-1');
  assert.equal(config.turn.mode, 'off', 'the environment overrides the file');
  assert.deepEqual(config.metricsAddr, { host: '127.0.0.1', port: 9465 });
  assert.ok(
    problems(() => loadMediaNodeConfig([], { ...nodeEnv, TREFFPUNKT_METRICS_ADDR: '192.0.2.1:9465' })).some((p) =>
      p.startsWith('TREFFPUNKT_METRICS_ADDR (--metrics-addr): 192.0.2.1 is beyond loopback'),
    ),
  );
});

test('the edge command names a bad config file line and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-conf-'));
  writeFileSync(join(dir, 'edge.env'), 'TREFFPUNKT_EDGE_PORT=80000\nTREFFPUNKT_GUEST_POLICIY=allow\n');
  const err = await run(process.execPath, ['edge/node/entry.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, TREFFPUNKT_CONFIG_FILE: join(dir, 'edge.env') },
  }).then(
    () => assert.fail('the edge started'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.match(err.stderr, /edge\.env:2: TREFFPUNKT_GUEST_POLICIY is not a setting of this service/);
});
