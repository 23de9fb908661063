/**
 * Node-loss detection benchmark: measured, not asserted. The Node edge and two media nodes on loopback; a
 * scripted participant (no media) on node-a; the node is killed (kill -9) or frozen (SIGSTOP) and the
 * benchmark measures, from the signal, when the participant gets `mediaMoved` (signaling client polled
 * every 10 ms) and, with the node link, when the edge logged "media node lost" (its pino timestamp).
 *
 *   - link: the node link on (TREFFPUNKT_NODE_LINK_SILENCE_MS 1000), heartbeat timeout 60 s so that only
 *     the link can explain a loss within the run;
 *   - heartbeat baseline, same run: links off (TREFFPUNKT_NODE_LINK_SILENCE_MS=0), the default heartbeat
 *     timeout of 4.5 s — what every edge did before the node link.
 *
 *   node test/bench/node-loss.ts [--runs 3] [--cases link,heartbeat] [--signals SIGKILL,SIGSTOP]
 *
 * Every run starts a fresh stack (a killed node is not restarted), so runs do not share state.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack, type StackNode } from '../support/stack.ts';
import { machineInfo, positiveInt } from './support.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'link,heartbeat' },
    signals: { type: 'string', default: 'SIGKILL,SIGSTOP' },
  },
});
const runs = positiveInt('runs', values.runs, 1);
const cases = values.cases.split(',') as ('link' | 'heartbeat')[];
const signals = values.signals.split(',') as ('SIGKILL' | 'SIGSTOP')[];

const ENV = {
  link: { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '60000' },
  heartbeat: { TREFFPUNKT_NODE_LINK_SILENCE_MS: '0' },
} as const;

async function once(kind: 'link' | 'heartbeat', signal: 'SIGKILL' | 'SIGSTOP') {
  const stack = await startStack({
    nodes: [
      { nodeId: 'node-a', region: 'north' },
      { nodeId: 'node-b', region: 'south' },
    ],
    edgeEnv: ENV[kind],
  });
  const [a] = stack.mediaNodes as [StackNode];
  try {
    if (kind === 'link')
      for (let i = 0; !/"node":"node-a"[^\n]*node link to the edge open/.test(stack.output()); i++) {
        if (i > 200) throw new Error('node-a never linked');
        await new Promise((r) => setTimeout(r, 50));
      }
    const client = await SignalingClient.connect(stack.wsUrl('bench-loss'));
    await client.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'Alice', region: 'north' });
    await client.request('createTransport', { direction: 'send' });
    const at = Date.now();
    a.process.kill(signal);
    await client.waitForEvent('mediaMoved', () => true, 30_000);
    const movedMs = Date.now() - at;
    const lostLine = stack
      .output()
      .split('\n')
      .find((l) => l.includes('"node":"node-a"') && l.includes('media node lost'));
    const lostMs = lostLine ? (JSON.parse(lostLine) as { time: number }).time - at : undefined;
    await client.close();
    return { movedMs, lostMs };
  } finally {
    if (a.alive()) a.process.kill('SIGCONT');
    await stack.stop();
  }
}

const fmt = (xs: number[]) =>
  xs.length === 0
    ? '—'
    : `median ${[...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]} ms, min ${Math.min(...xs)}, max ${Math.max(...xs)} (${xs.join(', ')})`;

console.log(JSON.stringify({ machine: machineInfo(), loadavg: loadavg().map((l) => l.toFixed(1)), runs }));
for (const kind of cases)
  for (const signal of signals) {
    const moved: number[] = [];
    const lost: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await once(kind, signal);
      moved.push(r.movedMs);
      if (r.lostMs !== undefined) lost.push(r.lostMs);
    }
    console.log(`${kind.padEnd(9)} ${signal.padEnd(7)} → mediaMoved: ${fmt(moved)}`);
    if (kind === 'link') console.log(`${''.padEnd(17)} → edge logs "media node lost": ${fmt(lost)}`);
  }
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
process.exit(0);
