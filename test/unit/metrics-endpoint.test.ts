/**
 * The metrics listener's app (shared/metrics-endpoint.ts): with a token, /metrics needs it; without, it is
 * open (the address is loopback then: metricsListenerProblems); nothing else is served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsApp } from '../../shared/metrics-endpoint.ts';
import { tokenCheck } from '../../shared/token-check.ts';

const render = async () => ({ body: 'treffpunkt_edge_rooms 0\n', contentType: 'text/plain; version=0.0.4' });
const TOKEN = 'a-metrics-token-of-at-least-32-chars!';

test('a metrics token is required when configured; only /metrics is served', async () => {
  const app = metricsApp(render, await tokenCheck(TOKEN));
  assert.equal((await app.request('/metrics')).status, 401);
  assert.equal((await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
  const ok = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4');
  assert.equal(await ok.text(), 'treffpunkt_edge_rooms 0\n');
  assert.equal((await app.request('/', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  assert.equal((await metricsApp(render).request('/metrics')).status, 200);
});
