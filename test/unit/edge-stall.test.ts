import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediaNodes } from '../../edge/core/media-nodes.ts';
import { noMetrics } from '../../edge/core/metrics.ts';
import { InMemoryNodeRegistry } from '../../edge/core/node-registry.ts';
import { stickyRegionLeastLoaded } from '../../edge/core/node-selection.ts';
import { StallWatch } from '../../edge/node/stall-watch.ts';

const load = { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 };

test('after its own stall the edge asks a silent node before calling it lost', async (t) => {
  const server = createServer((req, res) => {
    res.statusCode = req.url?.startsWith('/sick') ? 503 : 200;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const controlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const timeout = 1_000;
  const registry = new InMemoryNodeRegistry(timeout);
  // Heard from 10 s ago: far beyond twice the timeout.
  await registry.register({ nodeId: 'n1', controlUrl, region: 'eu', operator: 'op', load }, Date.now() - 10_000);
  // n2 answers 503: its health endpoint says it is not well.
  await registry.register(
    { nodeId: 'n2', controlUrl: `${controlUrl}/sick`, region: 'eu', operator: 'op', load },
    Date.now() - 10_000,
  );
  const secrets = new Map([
    ['n1', ['s'.repeat(16)]],
    ['n2', ['s'.repeat(16)]],
  ]);
  let stallEndedAt: number | undefined;
  const nodes = new MediaNodes(registry, secrets, stickyRegionLeastLoaded, 600, noMetrics, {
    watch: { lastStallEndedAt: () => stallEndedAt },
    graceMs: 2 * timeout,
  });

  assert.equal(await nodes.status('n1'), 'lost', 'no stall: silence means lost');
  stallEndedAt = Date.now();
  assert.equal(await nodes.status('n1'), 'up', 'the edge was frozen and the node answers: up');
  assert.equal(await nodes.status('n2'), 'lost', 'a node that does not answer either: lost');
  stallEndedAt = Date.now() - 3 * timeout;
  assert.equal(await nodes.status('n1'), 'lost', 'past the grace, silence counts again');
});

test('the stall watch knows of a stall before its own tick has run (a room check due first asks it)', () => {
  const warned: string[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (_: unknown, msg: string) => void warned.push(msg) } as never;
  const watch = new StallWatch(300, log).start();
  try {
    assert.equal(watch.lastStallEndedAt(), undefined, 'not stalled');
    // The thread stops, as under SIGSTOP; no timer runs until this synchronous test returns.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
    const endedAt = watch.lastStallEndedAt();
    assert.ok(endedAt !== undefined && Date.now() - endedAt < 100, 'the stall just ended');
    assert.equal(warned.length, 1, 'told once');
    assert.equal(watch.lastStallEndedAt(), endedAt, 'the same stall, not a new one');
  } finally {
    watch.stop();
  }
});
