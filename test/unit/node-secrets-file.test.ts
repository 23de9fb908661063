/**
 * The watched node credentials file changed by the admin API (edge/node/node-secrets-file.ts): put and
 * revoke rewrite the file atomically (mode 600, no temporary file left) and apply it at once; a file that
 * does not parse is never overwritten; a bad entry leaves the file as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeSecretsFile } from '../../edge/node/node-secrets-file.ts';
import { TreffpunktError } from '../../shared/errors.ts';
import type { NodePin } from '../../edge/core/config.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const A = '0123456789abcdef-a';
const B = '0123456789abcdef-b';

test('put and revoke rewrite the file atomically and apply it; a broken file or a bad entry changes nothing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-nsf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'secrets');
  writeFileSync(file, `a=${A}`, { mode: 0o600 });
  const secrets = new Map<string, readonly string[]>([['a', [A]]]);
  const pins = new Map<string, NodePin>([['a', {}]]);
  const store = new NodeSecretsFile(file, { secrets, pins }, false, silent);

  assert.deepEqual(store.put('b', { secret: `${B}|${A}`, operator: 'example-gmbh' }), {
    action: 'added',
    pins: { operator: 'example-gmbh' },
  });
  assert.deepEqual(secrets.get('b'), [B, A]);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
    a: { secret: A },
    b: { secret: `${B}|${A}`, operator: 'example-gmbh' },
  });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['secrets']);
  assert.equal(store.put('b', { secret: B }).action, 'replaced');
  assert.deepEqual(store.list(), [
    { nodeId: 'a', pins: {} },
    { nodeId: 'b', pins: {} },
  ]);

  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof TreffpunktError);
      assert.doesNotMatch(err.message, new RegExp(`${A}|${B}`));
      return err.code;
    }
    return 'no error';
  };
  const before = readFileSync(file, 'utf8');
  assert.equal(
    code(() => store.put('c', { secret: B, controlOrigin: 'http://media.example.org' })),
    'BAD_MESSAGE',
  );
  assert.equal(readFileSync(file, 'utf8'), before);

  assert.deepEqual(store.revoke('b'), {});
  assert.equal(secrets.has('b'), false);
  assert.equal(store.revoke('b'), undefined);

  writeFileSync(file, '{"a": ', { mode: 0o600 });
  assert.equal(
    code(() => store.put('b', { secret: B })),
    'CREDENTIALS_NOT_EDITABLE',
  );
  assert.equal(
    code(() => store.revoke('a')),
    'CREDENTIALS_NOT_EDITABLE',
  );
  assert.equal(readFileSync(file, 'utf8'), '{"a": ');
  assert.deepEqual([...secrets.keys()], ['a']);
});
