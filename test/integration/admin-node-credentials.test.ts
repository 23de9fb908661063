/**
 * Node credentials through the admin API (issue 17) against a real edge with TREFFPUNKT_NODE_SECRETS_FILE
 * and real media nodes: the CLI adds a new node's credentials, the edge writes the watched file (mode
 * 600, atomic rename) and the node registers and is listed; revoked through the API, its next heartbeat
 * is refused and the edge loses it. 401 without the token, 400 with a stable code for a bad body; no
 * secret in any answer or in the edge's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminNodeCredentialList, AdminNodeCredentialsDone, AdminNodes } from '../../shared/admin.ts';
import { spawnMediaNode } from '../support/media-node-process.ts';
import { waitFor } from '../support/poll.ts';
import { startStack } from '../support/stack.ts';

const TIMEOUT_MS = 2_000;
const ADMIN_TOKEN = randomBytes(24).toString('hex');

test('admin API: a node added by the CLI registers; revoked, its next heartbeat is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-admincreds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node-secrets.json');
  const secretA = randomBytes(24).toString('hex');
  const secretB = randomBytes(24).toString('hex');
  const secretC = randomBytes(24).toString('hex');
  writeFileSync(file, `a=${secretA}`, { mode: 0o600 });

  const stack = await startStack({
    edgeEnv: {
      TREFFPUNKT_NODE_SECRETS: '',
      TREFFPUNKT_NODE_SECRETS_FILE: file,
      TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
      TREFFPUNKT_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    nodes: [{ nodeId: 'a', env: { TREFFPUNKT_NODE_SECRET: secretA } }],
  });
  t.after(() => stack.stop());
  const answers: string[] = [];
  const admin = async (path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) => {
    const res = await fetch(`${stack.edgeUrl}${path}`, {
      ...init,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, json: JSON.parse(text) as unknown };
  };
  const code = (json: unknown) => (json as { error: { code: string } }).error.code;
  const nodes = async () => AdminNodes.parse((await admin('/admin/v1/nodes')).json).nodes;

  // Without the token: 401, and the file is untouched.
  const put = { method: 'PUT', body: JSON.stringify({ secret: secretB }) };
  const refused = await admin('/admin/v1/nodes/b/credentials', put, null);
  assert.equal(refused.status, 401);
  assert.equal(code(refused.json), 'UNAUTHORIZED');
  assert.equal((await admin('/admin/v1/nodes/b/credentials', { method: 'DELETE' }, 'wrong-token')).status, 401);
  // A bad body: 400 BAD_MESSAGE, the file untouched.
  for (const body of [
    { secret: 'too-short' },
    { secret: secretB, pin: 'x' },
    { secret: secretB, jurisdiction: 'Mars' },
  ]) {
    const bad = await admin('/admin/v1/nodes/b/credentials', { method: 'PUT', body: JSON.stringify(body) });
    assert.equal(bad.status, 400, JSON.stringify(bad.json));
    assert.equal(code(bad.json), 'BAD_MESSAGE');
  }
  // A plain http controlOrigin beyond loopback fails the whole file's check: 400 too.
  const insecure = await admin('/admin/v1/nodes/b/credentials', {
    method: 'PUT',
    body: JSON.stringify({ secret: secretB, controlOrigin: 'http://media-b.example.org' }),
  });
  assert.equal(insecure.status, 400);
  assert.equal(readFileSync(file, 'utf8'), `a=${secretA}`);

  // Node b is not known yet: refused.
  const b = await spawnMediaNode('b', secretB, stack.edgeUrl, {});
  t.after(() => void b.child.kill('SIGKILL'));
  await waitFor('b to be refused', () => /HTTP 401/.test(b.output()), 20_000);

  // The CLI adds b's credentials from a file.
  const secretFile = join(dir, 'b.secret');
  writeFileSync(secretFile, `${secretB}\n`, { mode: 0o600 });
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['scripts/admin.ts', ...args, '--url', stack.edgeUrl], {
      env: { ...process.env, TREFFPUNKT_ADMIN_TOKEN: ADMIN_TOKEN },
    });
  const added = await cli('node-credentials', 'add', 'b', '--secret-file', secretFile);
  assert.match(added.stdout, /added credentials of b/);
  answers.push(added.stdout, added.stderr);
  // The file: JSON now, mode 600, no temporary file left beside it.
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: { secret: secretA }, b: { secret: secretB } });
  assert.deepEqual(readdirSync(dir).sort(), ['b.secret', 'node-secrets.json']);
  await waitFor(
    'b to register and be listed',
    async () => (await nodes()).some((n) => n.nodeId === 'b' && n.status === 'up'),
    20_000,
  );

  // With pins through the API; replacing answers "replaced"; the list shows ids and pins only.
  const pinned = {
    secret: secretC,
    operator: 'example-gmbh',
    jurisdiction: 'DE',
    controlOrigin: 'https://media-c.example.org:4000',
  };
  const c1 = AdminNodeCredentialsDone.parse(
    (await admin('/admin/v1/nodes/c/credentials', { method: 'PUT', body: JSON.stringify(pinned) })).json,
  );
  assert.deepEqual(c1, {
    ok: true,
    nodeId: 'c',
    action: 'added',
    pins: { operator: 'example-gmbh', jurisdiction: 'DE', controlOrigin: 'https://media-c.example.org:4000' },
  });
  const c2 = AdminNodeCredentialsDone.parse(
    (await admin('/admin/v1/nodes/c/credentials', { method: 'PUT', body: JSON.stringify({ secret: secretC }) })).json,
  );
  assert.deepEqual([c2.action, c2.pins], ['replaced', {}]);
  const list = AdminNodeCredentialList.parse((await admin('/admin/v1/node-credentials')).json).credentials;
  assert.deepEqual(list.map((c) => c.nodeId).sort(), ['a', 'b', 'c']);
  assert.match((await cli('node-credentials', 'revoke', 'c')).stdout, /revoked credentials of c/);
  assert.match((await cli('node-credentials', 'list')).stdout, /^a {2}no pins\nb {2}no pins\n$/);

  // b revoked through the API: its next heartbeat is refused and the edge loses it; a stays.
  const atRevoke = b.output().length;
  const revoked = await admin('/admin/v1/nodes/b/credentials', { method: 'DELETE' });
  assert.deepEqual(AdminNodeCredentialsDone.parse(revoked.json), {
    ok: true,
    nodeId: 'b',
    action: 'revoked',
    pins: {},
  });
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { a: { secret: secretA } });
  await waitFor('b refused again', () => b.output().slice(atRevoke).includes('HTTP 401'), 20_000);
  await waitFor('b to be lost', async () => (await nodes()).find((n) => n.nodeId === 'b')?.status !== 'up', 20_000);
  assert.equal((await nodes()).find((n) => n.nodeId === 'a')?.status, 'up');
  const again = await admin('/admin/v1/nodes/b/credentials', { method: 'DELETE' });
  assert.deepEqual([again.status, code(again.json)], [404, 'NOT_FOUND']);

  assert.match(stack.output(), /"action":"nodeCredentials","node":"b","result":"added"/);
  assert.match(stack.output(), /"removed":\["b"\].*media node credentials reloaded/);
  const secrets = new RegExp(`${secretA}|${secretB}|${secretC}`);
  assert.doesNotMatch(stack.output(), secrets, 'no secret in the edge output');
  assert.doesNotMatch(answers.join('\n'), secrets, 'no secret in any answer');
  assert.doesNotMatch(stack.output(), new RegExp(ADMIN_TOKEN), 'no admin token in the edge output');
});
