/**
 * The self-hosted Worker gets its settings only through the bindings edge/cloudflare/workerd.capnp lists
 * (a setting missing there is silently unset): every setting of the edge's config schema must be bound,
 * from the environment variable of the same name, and nothing else that looks like a setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EdgeConfigSchema } from '../../edge/core/config.ts';

const capnp = readFileSync(new URL('../../edge/cloudflare/workerd.capnp', import.meta.url), 'utf8');

test('workerd.capnp binds every edge setting from the environment, and no unknown one', () => {
  const settings = Object.keys(EdgeConfigSchema.shape).sort();
  const bound = [...capnp.matchAll(/\(name = "(TREFFPUNKT_[A-Z0-9_]+)", fromEnvironment = "([A-Z0-9_]+)"\)/g)];
  for (const [line, name, from] of bound) assert.equal(from, name, `${line}: bound from another variable`);
  assert.deepEqual(bound.map(([, name]) => name).sort(), settings);
  // No setting bound any other way (a typo'd or stale line the regex above would skip).
  const mentioned = new Set(capnp.match(/TREFFPUNKT_[A-Z0-9_]+/g));
  assert.deepEqual(
    [...mentioned].filter((m) => !settings.includes(m)),
    [],
  );
});
