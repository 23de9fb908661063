/**
 * A node's identity belongs to its credentials on the edge, not to its own registration: with the JSON
 * form of TREFFPUNKT_NODE_SECRETS the administrator pins a node's operator, jurisdiction and control
 * URL origin, and a registration claiming anything else is refused (FORBIDDEN, logged at warn). Control
 * URLs are origins only (no path: blind SSRF), plain http beyond loopback is refused, and self-reported
 * load is bounded. With TREFFPUNKT_ALLOW_INSECURE_HTTP plain http is accepted, with a warning at start on
 * both sides. Both edge runtimes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { idleLoad, nodePost, registration } from '../support/node-api.ts';

const evil = {
  nodeId: 'evil-node',
  secret: randomBytes(24).toString('hex'),
  operator: 'evil-corp',
  jurisdiction: 'US',
  controlOrigin: 'http://127.0.0.1:9',
};
const free = { nodeId: 'free-node', secret: randomBytes(24).toString('hex') };

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime, extraNodes: [evil, free] });
    });
    after(async () => {
      await stack?.stop();
    });

    const register = (
      node: { nodeId: string; secret: string },
      over: Record<string, unknown>,
      controlUrl = 'http://127.0.0.1:9',
    ) =>
      nodePost(
        stack.edgeUrl,
        node.nodeId,
        node.secret,
        '/api/nodes/register',
        registration(node.nodeId, controlUrl, over),
      );

    test('a node pinned as "evil-corp, US" cannot register as "trusted-op, DE"', async () => {
      for (const claim of [
        { operator: 'trusted-op', jurisdiction: 'DE' },
        { operator: 'evil-corp', jurisdiction: 'DE' },
        { operator: 'trusted-op', jurisdiction: 'US' },
      ]) {
        const r = await register(evil, claim);
        assert.equal(r.status, 403, JSON.stringify(claim));
        assert.equal(r.body.error?.code, 'FORBIDDEN');
      }
      // Another origin than the pinned one: refused, even with the right operator and jurisdiction.
      const moved = await register(evil, { operator: 'evil-corp', jurisdiction: 'US' }, 'http://127.0.0.1:10');
      assert.equal(moved.status, 403);
      assert.match(moved.body.error?.message ?? '', /origin/);
      // What the credentials say: accepted (also without a jurisdiction: the pinned one applies).
      assert.equal((await register(evil, { operator: 'evil-corp', jurisdiction: 'US' })).status, 200);
      assert.equal((await register(evil, { operator: 'evil-corp' }, 'http://127.0.0.1:9/')).status, 200);
      const warnings = stack
        .output()
        .split('\n')
        .filter((l) => l.includes('media node registration refused'));
      assert.ok(
        warnings.some((l) => l.includes('"reason":"operator"') && l.includes('"node":"evil-node"')),
        'refusals are logged with the node and why',
      );
      assert.ok(warnings.some((l) => l.includes('"reason":"controlOrigin"')));
      assert.ok(!stack.output().includes(evil.secret), 'the secret is never logged');
    });

    test('a control URL with a path, query, fragment or credentials is refused', async () => {
      for (const controlUrl of [
        'http://127.0.0.1:9/admin',
        'http://127.0.0.1:9/?x=1',
        'http://127.0.0.1:9/#f',
        'http://user:pw@127.0.0.1:9',
      ]) {
        const r = await register(free, {}, controlUrl);
        assert.equal(r.status, 400, controlUrl);
        assert.equal(r.body.error?.code, 'BAD_MESSAGE');
        assert.match(r.body.error?.message ?? '', /controlUrl: must be an origin only/);
      }
      assert.equal((await register(free, {}, 'http://127.0.0.1:9')).status, 200);
    });

    test('plain http control URLs beyond loopback are refused', async () => {
      const r = await register(free, {}, 'http://10.0.0.5:4000');
      assert.equal(r.status, 403);
      assert.equal(r.body.error?.code, 'FORBIDDEN');
      assert.match(r.body.error?.message ?? '', /https/);
      assert.equal((await register(free, {}, 'https://10.0.0.5:4000')).status, 200);
      assert.equal((await register(free, {}, 'http://127.0.0.1:9')).status, 200);
    });

    test('absurd self-reported load is refused, in registrations and heartbeats', async () => {
      const absurd = [
        { workers: 1_000_000_000 },
        { workers: -1 },
        { transports: 1e12 },
        { consumers: 1.5 },
        { producers: -5 },
      ];
      for (const bad of absurd) {
        const load = { ...idleLoad, ...bad };
        const reg = await register(free, { load });
        assert.equal(reg.status, 400, JSON.stringify(bad));
        assert.equal(reg.body.error?.code, 'BAD_MESSAGE');
        const hb = await nodePost(stack.edgeUrl, free.nodeId, free.secret, `/api/nodes/${free.nodeId}/heartbeat`, {
          load,
        });
        assert.equal(hb.status, 400, JSON.stringify(bad));
        assert.equal(hb.body.error?.code, 'BAD_MESSAGE');
      }
      const fine = await nodePost(stack.edgeUrl, free.nodeId, free.secret, `/api/nodes/${free.nodeId}/heartbeat`, {
        load: { workers: 128, routers: 10, transports: 100, producers: 50, consumers: 1000 },
      });
      assert.notEqual(fine.status, 400);
    });
  });

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge with TREFFPUNKT_ALLOW_INSECURE_HTTP`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({
        runtime,
        edgeEnv: { TREFFPUNKT_ALLOW_INSECURE_HTTP: '1' },
        mediaNodeEnv: { TREFFPUNKT_ALLOW_INSECURE_HTTP: 'true' },
        extraNodes: [free],
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test('plain http beyond loopback is accepted, and both sides warn at start', async () => {
      const r = await nodePost(
        stack.edgeUrl,
        free.nodeId,
        free.secret,
        '/api/nodes/register',
        registration(free.nodeId, 'http://10.0.0.5:4000'),
      );
      assert.equal(r.status, 200);
      const warnings = stack
        .output()
        .split('\n')
        .filter((l) => l.includes('TREFFPUNKT_ALLOW_INSECURE_HTTP is set'));
      assert.ok(
        warnings.some((l) => l.includes('"service":"media-node"') && l.includes('"level":40')),
        'the media node warns',
      );
      assert.ok(
        warnings.some((l) => !l.includes('"service":"media-node"') && /"level":(40|"warn")/.test(l)),
        'the edge warns',
      );
    });
  });
