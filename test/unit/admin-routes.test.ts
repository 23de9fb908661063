/**
 * The admin API's routes (edge/core/admin/routes.ts) in the real edge app with a scripted backend: absent
 * without a token, 401 UNAUTHORIZED without the right one, path parameters and bodies checked by their
 * schemas, answers parsed by shared/admin.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminDone, AdminRooms } from '../../shared/admin.ts';
import { tokenCheck } from '../../shared/token-check.ts';
import { createEdgeApp } from '../../edge/core/app.ts';
import type { AdminBackend } from '../../edge/core/admin/routes.ts';
import { parseEdgeConfig } from '../../edge/core/config.ts';
import { InMemoryNodeRegistry } from '../../edge/core/node-registry.ts';

const TOKEN = 'an-admin-token-of-at-least-32-characters';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const config = parseEdgeConfig({ TREFFPUNKT_NODE_SECRETS: 'node-a=0123456789abcdef' });
const adapter = {
  roomSocket: () => new Response(null, { status: 500 }),
  clientAddress: () => undefined,
  roomEvent: async () => {},
  asset: async () => null,
  compression: 'runtime' as const,
};

async function app(backend?: AdminBackend) {
  return createEdgeApp({
    config,
    registry: new InMemoryNodeRegistry(4500),
    adapter,
    log: silent,
    ...(backend ? { admin: { token: await tokenCheck(TOKEN), backend } } : {}),
  });
}

const calls: string[] = [];
const backend: AdminBackend = {
  rooms: async () => [
    {
      name: 'r1',
      participants: [{ id: 'p1', role: 'moderator', nodeId: 'node-a', joinedAt: 1, connected: true }],
      lobby: 0,
      locked: false,
    },
  ],
  endRoom: async (room) => (calls.push(`end ${room}`), room === 'r1' ? 1 : undefined),
  removeParticipant: async (room, id) => (calls.push(`remove ${room} ${id}`), false),
  nodes: async () => [],
  drainNode: async (id) => (calls.push(`drain ${id}`), true),
  setLogLevel: (level) => void calls.push(`level ${level}`),
};
const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

test('without an admin token the routes do not exist', async () => {
  const res = await (await app()).request('/admin/v1/rooms', { headers: auth() });
  assert.equal(res.status, 404);
});

test('no token, a wrong token, another scheme: 401 UNAUTHORIZED, the backend untouched', async () => {
  const a = await app(backend);
  for (const headers of [{}, auth(`${TOKEN}x`), auth(TOKEN.slice(0, -1)), { authorization: `Basic ${TOKEN}` }]) {
    const res = await a.request('/admin/v1/rooms/r1', { method: 'DELETE', headers });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
  }
  assert.deepEqual(calls, []);
});

test('with the token: list, end, remove, drain, log level; bad input refused by its schema', async () => {
  const a = await app(backend);
  AdminRooms.parse(await (await a.request('/admin/v1/rooms', { headers: auth() })).json());
  assert.deepEqual(
    AdminDone.parse(await (await a.request('/admin/v1/rooms/r1', { method: 'DELETE', headers: auth() })).json()),
    { ok: true, affected: 1 },
  );
  assert.equal((await a.request('/admin/v1/rooms/r2', { method: 'DELETE', headers: auth() })).status, 404);
  assert.equal((await a.request('/admin/v1/rooms/bad%20name', { method: 'DELETE', headers: auth() })).status, 400);
  assert.equal(
    (await a.request('/admin/v1/rooms/r1/participants/p9', { method: 'DELETE', headers: auth() })).status,
    404,
  );
  assert.equal((await a.request('/admin/v1/nodes/node-a/drain', { method: 'POST', headers: auth() })).status, 200);
  assert.equal((await a.request('/admin/v1/nodes/Not_A_Node/drain', { method: 'POST', headers: auth() })).status, 400);
  const level = (body: unknown) =>
    a.request('/admin/v1/log-level', {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await level({ level: 'debug' })).status, 200);
  assert.equal((await level({ level: 'loud' })).status, 400);
  assert.equal((await level({ level: 'info', extra: 1 })).status, 400);
  assert.deepEqual(calls, ['end r1', 'end r2', 'remove r1 p9', 'drain node-a', 'level debug']);
});

test('node credentials: 409 CREDENTIALS_NOT_EDITABLE from the environment; bodies checked, secrets never echoed', async () => {
  const secret = 'a-secret-that-is-long-enough';
  const put = (a: Awaited<ReturnType<typeof app>>, body: unknown, node = 'node-b') =>
    a.request(`/admin/v1/nodes/${node}/credentials`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const fromEnv = await app(backend);
  for (const res of [
    await put(fromEnv, { secret }),
    await fromEnv.request('/admin/v1/nodes/node-a/credentials', { method: 'DELETE', headers: auth() }),
    await fromEnv.request('/admin/v1/node-credentials', { headers: auth() }),
  ]) {
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'CREDENTIALS_NOT_EDITABLE');
  }

  const stored: string[] = [];
  const editable = await app({
    ...backend,
    credentials: {
      list: () => [{ nodeId: 'node-a', pins: {} }],
      put: (id, entry) => (stored.push(`${id} ${entry.operator ?? '-'}`), { action: 'added', pins: {} }),
      revoke: (id) => (id === 'node-a' ? {} : undefined),
    },
  });
  for (const body of [
    { secret: 'short' },
    { secret: `${secret}|short` },
    { secret, extra: 1 },
    { secret, operator: '' },
    {},
    '{not json',
  ]) {
    const res = await put(editable, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const text = await res.text();
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'BAD_MESSAGE');
    assert.doesNotMatch(text, /short|a-secret/);
  }
  assert.equal((await put(editable, { secret }, 'bad%20id')).status, 400);
  assert.deepEqual(stored, []);
  const ok = await put(editable, { secret, operator: 'example-gmbh' });
  assert.equal(ok.status, 200);
  assert.doesNotMatch(await ok.text(), /a-secret/);
  assert.deepEqual(stored, ['node-b example-gmbh']);
  const gone = await editable.request('/admin/v1/nodes/node-x/credentials', { method: 'DELETE', headers: auth() });
  assert.equal(gone.status, 404);
});
