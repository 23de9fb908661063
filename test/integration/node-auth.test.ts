/**
 * Only the edge may call a media node, and only configured media nodes may talk to the edge: every
 * request is signed with the node's own secret, timestamped and carries a nonce. Unsigned, wrongly
 * signed, stale and replayed requests are refused with UNAUTHORIZED; malformed bodies with BAD_MESSAGE.
 * Each refusal is a security event in the receiver's log (warn level, no secrets).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { signRequest } from '../../shared/request-signing.ts';
import { waitFor } from '../support/poll.ts';

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime });
    });
    after(async () => {
      await stack?.stop();
    });

    /** POSTs `body` to `base + path`, with the given headers (e.g. a signature) or none. */
    async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown>,
      };
    }
    const sign = (secret: string, path: string, body: unknown, now?: number) =>
      signRequest(
        secret,
        stack.nodeId,
        { method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body) },
        now,
      );

    test('the control API refuses unsigned, wrongly signed, stale and replayed requests', async () => {
      const path = '/v1/rooms/auth-room/router';
      const none = await post(stack.controlUrl, path, {});
      assert.equal(none.status, 401);
      assert.equal(none.body.error?.code, 'UNAUTHORIZED');
      const legacyBearer = await post(stack.controlUrl, path, {}, { authorization: `Bearer ${stack.secret}` });
      assert.equal(legacyBearer.status, 401, 'the secret itself is not a credential');
      assert.equal((await post(stack.controlUrl, path, {}, await sign(`${stack.secret}x`, path, {}))).status, 401);
      // Signed for another path or another body: refused.
      assert.equal(
        (await post(stack.controlUrl, path, {}, await sign(stack.secret, '/v1/rooms/other/router', {}))).status,
        401,
      );
      assert.equal((await post(stack.controlUrl, path, {}, await sign(stack.secret, path, { x: 1 }))).status, 401);
      // Stale: a minute old, or a minute in the future.
      assert.equal(
        (await post(stack.controlUrl, path, {}, await sign(stack.secret, path, {}, Date.now() - 60_000))).status,
        401,
      );
      assert.equal(
        (await post(stack.controlUrl, path, {}, await sign(stack.secret, path, {}, Date.now() + 60_000))).status,
        401,
      );
      const headers = await sign(stack.secret, path, {});
      const ok = await post(stack.controlUrl, path, {}, headers);
      assert.equal(ok.status, 200);
      assert.ok(Array.isArray((ok.body.rtpCapabilities as { codecs: unknown[] }).codecs));
      const replay = await post(stack.controlUrl, path, {}, headers);
      assert.equal(replay.status, 401, 'the same signed request twice is a replay');
      assert.match(replay.body.error?.message ?? '', /replayed/);
      // Idempotent: the edge may retry (with a fresh signature).
      const again = await stack.controlFetch(path, { body: {} });
      assert.deepEqual(await again.json(), ok.body);
      const badBody = await stack.controlFetch('/v1/rooms/auth-room/transports', {
        body: { participantId: 'p', direction: 'up' },
      });
      assert.equal(badBody.status, 400);
      assert.equal(((await badBody.json()) as { error: { code: string } }).error.code, 'BAD_MESSAGE');
      const health = await fetch(`${stack.controlUrl}/healthz`);
      assert.equal(health.status, 200);
      // The node logs what it refused, at warn level, without the signature or the secret.
      const warned = (reason: string) =>
        stack
          .output()
          .split('\n')
          .some(
            (l) =>
              l.includes('control request refused') && l.includes(`"reason":"${reason}"`) && l.includes('"level":40'),
          );
      await waitFor("the refusals in the node's log", () =>
        ['unsigned', 'bad signature', 'stale timestamp', 'replayed'].every(warned),
      );
      assert.ok(!stack.output().includes(headers['x-treffpunkt-signature']!), 'no signature in the log');
    });

    test('the edge refuses registrations and heartbeats that are not signed by that node', async () => {
      const registration = {
        nodeId: stack.nodeId,
        controlUrl: 'http://127.0.0.1:1',
        region: 'evil',
        operator: 'evil',
        load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
      };
      const path = '/api/nodes/register';
      assert.equal((await post(stack.edgeUrl, path, registration)).status, 401);
      const wrong = await post(
        stack.edgeUrl,
        path,
        registration,
        await sign('not-the-secret-at-all', path, registration),
      );
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error?.code, 'UNAUTHORIZED');
      // Signed correctly but naming another node than the signer.
      const other = { ...registration, nodeId: 'other-node' };
      assert.equal((await post(stack.edgeUrl, path, other, await sign(stack.secret, path, other))).status, 401);
      // An unknown node id in the header.
      const unknown = await signRequest(stack.secret, 'unknown-node', {
        method: 'POST',
        path,
        body: JSON.stringify(registration),
      });
      assert.equal((await post(stack.edgeUrl, path, registration, unknown)).status, 401);
      const stale = await post(
        stack.edgeUrl,
        path,
        registration,
        await sign(stack.secret, path, registration, Date.now() - 120_000),
      );
      assert.equal(stale.status, 401);
      const hbPath = `/api/nodes/${stack.nodeId}/heartbeat`;
      const hb = { load: registration.load };
      const hbHeaders = await sign(stack.secret, hbPath, hb);
      assert.equal((await post(stack.edgeUrl, hbPath, hb, hbHeaders)).status, 200);
      assert.equal((await post(stack.edgeUrl, hbPath, hb, hbHeaders)).status, 401, 'replayed heartbeat');
      assert.equal(
        (await post(stack.edgeUrl, hbPath, hb, await sign('wrong-secret-wrong-secret', hbPath, hb))).status,
        401,
      );
      // A malformed but signed body: BAD_MESSAGE.
      const malformed = { ...registration, controlUrl: 'javascript:alert(1)' };
      const m = await post(stack.edgeUrl, path, malformed, await sign(stack.secret, path, malformed));
      assert.equal(m.status, 400);
      assert.equal(m.body.error?.code, 'BAD_MESSAGE');
      // Security events at warn level, naming the configured node (or "(unknown)") and why, never a secret.
      const warned = (msg: string, reason: string, node = stack.nodeId) =>
        stack
          .output()
          .split('\n')
          .some(
            (l) =>
              l.includes(msg) &&
              l.includes(`"reason":"${reason}"`) &&
              l.includes(`"node":"${node}"`) &&
              /"level":(40|"warn")/.test(l),
          );
      await waitFor(
        "the refusals in the edge's log",
        () =>
          ['bad signature', 'stale timestamp', 'replayed', 'invalid body'].every((r) =>
            warned('media node request refused', r),
          ) &&
          // No node header at all, or one the edge does not know.
          warned('media node request refused', 'unsigned', '(unknown)') &&
          warned('media node request refused', 'bad signature', '(unknown)') &&
          warned('media node registration refused', 'another node id'),
      );
      assert.ok(!stack.output().includes('unknown-node"'), 'an unknown node id is not echoed into the log');
      assert.ok(!stack.output().includes(hbHeaders['x-treffpunkt-signature']!), 'no signature in the log');
      // A huge body is refused before it is read, signed or not.
      const huge = await post(
        stack.edgeUrl,
        path,
        JSON.stringify({ ...registration, region: 'x'.repeat(1024 * 1024) }),
      );
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error?.code, 'MESSAGE_TOO_LARGE');
      // The real node is still registered and serving: nothing forged changed it.
      const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
      assert.equal(health.mediaNodes, 1);
    });
  });
