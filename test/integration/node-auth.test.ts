/**
 * Only the edge may call a media node, and only configured media nodes may register with the edge:
 * missing or wrong per-node secrets are refused with UNAUTHORIZED, malformed bodies with BAD_MESSAGE.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';

for (const runtime of EDGE_RUNTIMES) describe(`${runtime} edge`, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ runtime });
  });
  after(async () => {
    await stack?.stop();
  });

  async function post(url: string, body: unknown, secret?: string) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret !== undefined ? { authorization: `Bearer ${secret}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
  }

  test('the control API refuses requests without the node secret', async () => {
    const url = `${stack.controlUrl}/v1/rooms/auth-room/router`;
    const none = await post(url, {});
    assert.equal(none.status, 401);
    assert.equal(none.body.error?.code, 'UNAUTHORIZED');
    const wrong = await post(url, {}, `${stack.secret}x`);
    assert.equal(wrong.status, 401);
    const prefix = await post(url, {}, stack.secret.slice(0, -1));
    assert.equal(prefix.status, 401);
    const ok = await post(url, {}, stack.secret);
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray((ok.body.rtpCapabilities as { codecs: unknown[] }).codecs));
    // Idempotent: the edge may retry.
    const again = await post(url, {}, stack.secret);
    assert.deepEqual(again.body, ok.body);
    const badBody = await post(`${stack.controlUrl}/v1/rooms/auth-room/transports`, { participantId: 'p', direction: 'up' }, stack.secret);
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.error?.code, 'BAD_MESSAGE');
    const notJson = await post(`${stack.controlUrl}/v1/rooms/auth-room/transports`, '{', stack.secret);
    assert.equal(notJson.body.error?.code, 'BAD_JSON');
    const health = await fetch(`${stack.controlUrl}/healthz`);
    assert.equal(health.status, 200);
  });

  test('the edge registry refuses unknown nodes and wrong secrets', async () => {
    const registration = {
      nodeId: stack.nodeId,
      controlUrl: 'http://127.0.0.1:1',
      region: 'evil',
      operator: 'evil',
      load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
    };
    const wrong = await post(`${stack.edgeUrl}/api/nodes/register`, registration, 'not-the-secret-at-all');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error?.code, 'UNAUTHORIZED');
    const unknown = await post(`${stack.edgeUrl}/api/nodes/register`, { ...registration, nodeId: 'other-node' }, stack.secret);
    assert.equal(unknown.status, 401);
    const missing = await post(`${stack.edgeUrl}/api/nodes/register`, registration);
    assert.equal(missing.status, 401);
    const malformed = await post(`${stack.edgeUrl}/api/nodes/register`, { ...registration, controlUrl: 'javascript:alert(1)' }, stack.secret);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error?.code, 'BAD_MESSAGE');
    const heartbeat = await post(`${stack.edgeUrl}/api/nodes/${stack.nodeId}/heartbeat`, { load: registration.load }, 'wrong-secret-wrong-secret');
    assert.equal(heartbeat.status, 401);
    // The real node is still registered and serving: the forged registration changed nothing.
    const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
    assert.equal(health.mediaNodes, 1);
  });
});
