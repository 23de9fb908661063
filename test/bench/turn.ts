/**
 * TURN relay benchmark: measured, not asserted. Starts two real media nodes on loopback, one with the
 * embedded TURN server (node-turn, guarded) and one with coturn, and drives each in the same run with
 * coturn's turnutils_uclient (-W REST credentials, ChannelData, no RTCP) against a turnutils_peer echo:
 * every message is relayed twice (client → peer, peer → client).
 *
 * For each load level `clients x interval-ms` it prints: offered messages/s, relayed packets/s (both
 * directions, from what the clients received back, over the configured sending time), loss, CPU seconds
 * of the process that relays (the node process for embedded, its turnserver child for coturn; /proc, all
 * threads), CPU per 10,000 relayed packets, and the embedded/coturn ratio.
 *
 *   node test/bench/turn.ts [--levels 10x20,50x10,100x5] [--seconds 10] [--length 200]
 *
 * Prints a table, then one line `BENCH_JSON {...}` with every number.
 */
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuSeconds, startTurnNode, type TurnNode } from '../support/turn-node.ts';
import { freePortBlock } from '../support/stack.ts';

const { values: args } = parseArgs({
  options: {
    levels: { type: 'string', default: '10x20,50x10,100x5' },
    seconds: { type: 'string', default: '10' },
    length: { type: 'string', default: '200' },
  },
});
const levels = args.levels.split(',').map((l) => {
  const [m, z] = l.split('x').map(Number);
  if (!m || !z) throw new Error(`bad level ${l}: use clients x interval-ms, e.g. 50x10`);
  return { clients: m, intervalMs: z };
});
const seconds = Number(args.seconds);
const length = Number(args.length);
for (const bin of ['turnutils_uclient', 'turnutils_peer', 'turnserver']) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
  } catch {
    console.error(`${bin} not found: apt-get install coturn (scripts/setup.sh --test does)`);
    process.exit(2);
  }
}

interface Run {
  server: 'embedded' | 'coturn';
  clients: number;
  intervalMs: number;
  messages: number;
  offeredPerSecond: number;
  sent: number;
  received: number;
  lossPercent: number;
  wallSeconds: number;
  relayedPacketsPerSecond: number;
  cpuSeconds: number;
  cpuPer10kPackets: number;
  exit: string;
}

function uclient(
  node: TurnNode,
  peerPort: number,
  clients: number,
  intervalMs: number,
  messages: number,
  user: string,
): Promise<{ out: string; exit: string; wall: number }> {
  const argv = [
    '-c',
    '-m',
    String(clients),
    '-n',
    String(messages),
    '-l',
    String(length),
    '-z',
    String(intervalMs),
    '-W',
    node.turn.secret,
    '-u',
    user,
    '-e',
    '127.0.0.1',
    '-r',
    String(peerPort),
    '-p',
    String(node.turnPort),
    '127.0.0.1',
  ];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds * 4 + 30) * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({
        out,
        exit: signal ? `killed (${signal})` : `exit ${code}`,
        wall: (performance.now() - started) / 1000,
      });
    });
  });
}

async function measure(
  server: Run['server'],
  node: TurnNode,
  peerPort: number,
  clients: number,
  intervalMs: number,
  round: number,
): Promise<Run> {
  const messages = Math.max(10, Math.round((seconds * 1000) / intervalMs));
  const pid = node.turnPid();
  if (!pid) throw new Error(`no ${server} process found`);
  const cpu0 = cpuSeconds(pid);
  const { out, exit, wall } = await uclient(node, peerPort, clients, intervalMs, messages, `bench-${server}-${round}`);
  const cpu = cpuSeconds(pid) - cpu0;
  const last = (re: RegExp) => {
    let v: RegExpExecArray | null = null;
    for (let m = re.exec(out); m; m = re.exec(out)) v = m;
    return v;
  };
  const totals = last(/start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g);
  const lost = last(/Total lost packets \d+ \(([\d.]+)%\)/g);
  const sent = Number(totals?.[1] ?? 0);
  const received = Number(totals?.[2] ?? 0);
  // Relayed packets: each received echo crossed the relay twice. Per second of the sending phase as
  // configured (messages x interval); uclient's own "transmit time" is whole seconds and includes setup.
  const activeSeconds = (messages * intervalMs) / 1000;
  const relayed = 2 * received;
  return {
    server,
    clients,
    intervalMs,
    messages,
    offeredPerSecond: Math.round((clients * 1000) / intervalMs),
    sent,
    received,
    lossPercent: lost ? Number(lost[1]) : sent ? (100 * (sent - received)) / sent : 100,
    wallSeconds: Number(wall.toFixed(1)),
    relayedPacketsPerSecond: Math.round(relayed / activeSeconds),
    cpuSeconds: Number(cpu.toFixed(2)),
    cpuPer10kPackets: relayed ? Number(((cpu * 10_000) / relayed).toFixed(3)) : 0,
    exit,
  };
}

const env = { TREFFPUNKT_TURN_USER_QUOTA: '1000', TREFFPUNKT_TURN_TOTAL_QUOTA: '1000', TREFFPUNKT_LOG_LEVEL: 'warn' };
const [embedded, coturn] = await Promise.all([
  startTurnNode({ mode: 'embedded', allowLoopbackPeers: true, relayPorts: 1200, env }),
  startTurnNode({ mode: 'coturn', allowLoopbackPeers: true, relayPorts: 1200, env }),
]);
const peerPort = await freePortBlock(1);
const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
const runs: Run[] = [];
try {
  for (const [i, level] of levels.entries()) {
    // Alternate the order so that neither server always runs on a warmer machine.
    const order =
      i % 2
        ? ([
            ['coturn', coturn],
            ['embedded', embedded],
          ] as const)
        : ([
            ['embedded', embedded],
            ['coturn', coturn],
          ] as const);
    for (const [name, node] of order) {
      const run = await measure(name, node, peerPort, level.clients, level.intervalMs, i);
      runs.push(run);
      console.error(
        `${name} ${level.clients}x${level.intervalMs}ms: ${run.relayedPacketsPerSecond} pkt/s, loss ${run.lossPercent.toFixed(2)}%, cpu ${run.cpuSeconds}s (${run.exit})`,
      );
      if (name === 'embedded' && !embedded.alive()) throw new Error('the embedded TURN node died');
    }
  }
} finally {
  peer.kill('SIGKILL');
  await Promise.all([embedded.stop(), coturn.stop()]);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(
  `\nTURN relay, turnutils_uclient -c -m <clients> -n <messages> -l ${length} -z <interval> against turnutils_peer on 127.0.0.1, ${seconds} s per level`,
);
console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}\n`);
console.log(
  '| load (clients x ms) | offered msg/s | server | relayed pkt/s | loss | CPU s | CPU s / 10k pkt | CPU ratio emb/coturn |',
);
console.log('|---|---:|---|---:|---:|---:|---:|---:|');
for (const level of levels) {
  const e = runs.find(
    (r) => r.server === 'embedded' && r.clients === level.clients && r.intervalMs === level.intervalMs,
  )!;
  const c = runs.find(
    (r) => r.server === 'coturn' && r.clients === level.clients && r.intervalMs === level.intervalMs,
  )!;
  const ratio = c.cpuPer10kPackets ? (e.cpuPer10kPackets / c.cpuPer10kPackets).toFixed(1) : 'n/a';
  for (const r of [e, c]) {
    console.log(
      `| ${level.clients} x ${level.intervalMs} | ${pad(r.offeredPerSecond, 6)} | ${r.server} | ${pad(r.relayedPacketsPerSecond, 7)} | ${r.lossPercent.toFixed(2)}% | ${pad(r.cpuSeconds.toFixed(2), 6)} | ${r.cpuPer10kPackets.toFixed(3)} | ${r === e ? ratio : ''} |`,
    );
  }
}
console.log(`\nBENCH_JSON ${JSON.stringify({ bench: 'turn', length, seconds, runs })}`);
