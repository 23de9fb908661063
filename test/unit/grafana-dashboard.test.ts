/**
 * docs/grafana-dashboard.json uses exactly the metrics the edge and the media node export: every name
 * in a panel's query exists, and every Treffpunkt metric (beyond prom-client's process defaults) has a
 * panel. Renaming a metric without the dashboard fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InMemoryNodeRegistry } from '../../edge/core/node-registry.ts';
import { createEdgeMetrics } from '../../edge/node/metrics.ts';
import { createMediaNodeMetrics } from '../../media-node/metrics.ts';
import type { WorkerPool } from '../../media-node/worker-pool.ts';
import type { TurnService } from '../../media-node/turn/turn-service.ts';

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
  panels: { targets?: { expr: string }[] }[];
};

async function exported(): Promise<{ all: Set<string>; own: Set<string> }> {
  const edge = createEdgeMetrics({
    rooms: () => undefined,
    registry: new InMemoryNodeRegistry(4500),
    webhooksQueued: () => 0,
    roomLabels: false,
  }).registry;
  const turn = { mode: 'embedded', stats: () => undefined } as unknown as TurnService;
  const node = createMediaNodeMetrics({ workers: [] } as unknown as WorkerPool, turn, 5000);
  const all = new Set<string>();
  const own = new Set<string>();
  const defaults = new Set(['process_', 'nodejs_'].flatMap((p) => [`treffpunkt_edge_${p}`, `treffpunkt_node_${p}`]));
  for (const m of [...(await edge.getMetricsAsJSON()), ...(await node.getMetricsAsJSON())]) {
    const names = String(m.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name];
    for (const n of names) all.add(n);
    if (![...defaults].some((d) => m.name.startsWith(d))) own.add(m.name);
  }
  return { all, own };
}

test('every metric in the Grafana dashboard is exported, and every Treffpunkt metric is on it', async () => {
  const used = new Set(
    dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/treffpunkt_[a-z_]+/g) ?? [])),
  );
  assert.ok(used.size > 20, 'the dashboard queries metrics');
  const { all, own } = await exported();
  for (const name of used) assert.ok(all.has(name), `${name} is in the dashboard but not exported`);
  const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
  const usedBase = new Set([...used].map(base));
  for (const name of own) assert.ok(usedBase.has(name), `${name} is exported but not on the dashboard`);
});
