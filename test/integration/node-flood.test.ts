/**
 * One media node cannot lock out another: 100,000 validly signed heartbeats from node A (fast, from the
 * test process) are refused with RATE_LIMITED once A is over its limit, while node B's heartbeats keep
 * succeeding and B is never declared lost. Before, all nodes shared one nonce cache of 100,000 entries:
 * A's flood filled it, and every request of B was refused as "replayed".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/poll.ts';
import { idleLoad, nodePost } from '../support/node-api.ts';
import { signRequest } from '../../shared/request-signing.ts';

const FLOOD = 100_000;
const PARALLEL = 64;

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime, nodes: [{ nodeId: 'node-a' }, { nodeId: 'node-b' }] });
    });
    after(async () => {
      await stack?.stop();
    });

    test('a flood of signed heartbeats from node A neither refuses nor loses node B', async () => {
      const [a, b] = stack.mediaNodes as [(typeof stack.mediaNodes)[0], (typeof stack.mediaNodes)[0]];
      const path = `/api/nodes/${a.nodeId}/heartbeat`;
      const body = JSON.stringify({ load: idleLoad });
      const statuses = new Map<number, number>();
      let sent = 0;
      // node:http with kept-alive sockets: about twice the rate of fetch from one test process, so that the
      // old shared cache (100,000 nonces kept 60 s) filled up within its window.
      const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
      const { hostname, port } = new URL(stack.edgeUrl);
      const once = (headers: Record<string, string>) =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            {
              agent,
              hostname,
              port,
              path,
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const flooder = async () => {
        while (sent < FLOOD) {
          sent++;
          const status = await once(await signRequest(a.secret, a.nodeId, { method: 'POST', path, body }));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      };
      // B's heartbeats during the flood, sent by the test as well (B's own process sends its own, too).
      const bReplies: number[] = [];
      let flooding = true;
      const watcher = (async () => {
        while (flooding) {
          bReplies.push(
            (await nodePost(stack.edgeUrl, b.nodeId, b.secret, `/api/nodes/${b.nodeId}/heartbeat`, { load: idleLoad }))
              .status,
          );
          const health = (await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number };
          assert.ok(health.mediaNodes >= 1, 'node B stays selectable');
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const started = Date.now();
      try {
        await Promise.all(Array.from({ length: PARALLEL }, flooder));
      } finally {
        flooding = false;
        agent.destroy();
        await watcher;
      }
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${runtime} edge: ${FLOOD} heartbeats of node A in ${seconds.toFixed(1)} s; answers ${JSON.stringify(Object.fromEntries(statuses))}; node B's ${bReplies.length} heartbeats answered ${JSON.stringify([...new Set(bReplies)])}`,
      );
      assert.ok(bReplies.length > 0);
      assert.deepEqual([...new Set(bReplies)], [200], 'every heartbeat of node B succeeded during the flood');
      assert.ok((statuses.get(429) ?? 0) > FLOOD / 2, 'node A is refused with 429 once over its limit');
      assert.deepEqual(
        [...statuses.keys()].filter((s) => s !== 200 && s !== 429),
        [],
        'nothing but accepted or rate limited',
      );
      // B's own process never had a heartbeat refused once it was registered (it would log that it retries;
      // a first attempt before the edge listens may fail on a slow start, which is not the flood's doing).
      const bLines = stack
        .output()
        .split('\n')
        .filter((l) => l.includes('"node":"node-b"'));
      const registered = bLines.findIndex((l) => l.includes('registered with edge'));
      assert.ok(registered >= 0, 'node B registered');
      assert.doesNotMatch(bLines.slice(registered + 1).join('\n'), /edge registration failed/);
      // The limit is a rate, not a ban: node A is back once its flood stops.
      await waitFor(
        'node A to be accepted again',
        async () => (await nodePost(stack.edgeUrl, a.nodeId, a.secret, path, { load: idleLoad })).status === 200,
        20_000,
        200,
      );
      await waitFor(
        'both nodes selectable again',
        async () =>
          ((await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number }).mediaNodes === 2,
        20_000,
        200,
      );
      // Logged at warn level, throttled: a handful of lines for the whole flood, not one per request.
      const warnings = stack
        .output()
        .split('\n')
        .filter((l) => l.includes('media node rate limited'));
      assert.ok(warnings.length >= 1, 'the rate limiting is logged');
      assert.ok(warnings.length < 30, `${warnings.length} rate limit warnings for one flood`);
      assert.match(warnings[0]!, /"level":(40|"warn")/);
    });
  });
