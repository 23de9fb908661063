/**
 * Edge runtimes benchmark: measured, not asserted. In one run, the same stack (the edge + a real media node
 * with one mediasoup worker, loopback only) is started once per edge runtime, one after the other, and the
 * figures are printed side by side:
 *
 *   join        WebSocket open → `join` reply: N sequential joins (each participant leaves before the next
 *               opens) and M concurrent joins (all opened at once into one room, left connected). Every
 *               room already holds one joined host, so the router exists and its RTP capabilities are
 *               cached by the room; warm-up joins run first and are not measured.
 *   baseline    `ping` round trip on an open, joined socket (answered by the room without its queue and
 *               without the media node): N one after the other, then one from each of the M sockets at once.
 *   memory      RSS of the edge process (edgePid(): the Node edge, or the one workerd process that hosts the
 *               Worker and every Durable Object) idle with the media node registered, after K/2 and after K
 *               participants have joined and stay connected (spread round-robin over ⌈K / room-size⌉ rooms,
 *               below the room capacity of 100). Reported as (RSS_K − RSS_idle) / K and, excluding one-time
 *               costs such as new rooms, (RSS_K − RSS_K/2) / (K − K/2), in KiB per participant. For the
 *               Node edge also what a participant keeps alive: the JS heap + external memory after a full
 *               GC (read over the V8 inspector, test/bench/heap-probe.ts), marginal between K/2 and K.
 *   bundle      the Worker bundle (scripts/build-worker.ts → dist/worker/worker.js) and, for context, the
 *               browser app (dist/web/assets/app-<hash>.js): minified bytes and gzip bytes (node:zlib, level 9).
 *
 * Runtimes (test/support/stack.ts): `node` (edge/node/entry.ts), `workerd-selfhosted` (the workerd binary
 * with edge/cloudflare/workerd.capnp, as an operator runs it) and `workerd` (the same Worker in workerd
 * through Miniflare, as `wrangler dev` and the tests run it).
 *
 *   node test/bench/edge-runtimes.ts [--runtimes node,workerd-selfhosted,workerd] [--sequential 200]
 *     [--concurrent 50] [--warmup 10] [--participants 100] [--room-size 25] [--workers 1] [--timeout 900]
 *
 * Every edge runs with TREFFPUNKT_MESSAGES_PER_SECOND=10000 (see EDGE_ENV) and stack.ts's lifted connection limit.
 * Prints tables to stdout (progress to stderr), then one line `BENCH_JSON {...}` with every number.
 * Everything it starts is stopped at the end, also on error, Ctrl-C and after the watchdog (--timeout s).
 * See docs/benchmarks.md.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { gzipSync, constants as zlib } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildWorker } from '../../scripts/build-worker.ts';
import { buildWeb, builtScriptName } from '../../scripts/build-web.ts';
import { freePortBlock, startStack, type EdgeRuntime, type Stack } from '../support/stack.ts';
import { HeapProbe } from './heap-probe.ts';
import {
  type BenchClient,
  childPids,
  comm,
  joinFlow,
  latencyTable,
  lpad,
  machineInfo,
  pad,
  pingOnce,
  positiveInt,
  summarize,
  vmRssKiB,
  type JoinSample,
  type Summary,
} from './support.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ALL_RUNTIMES: readonly EdgeRuntime[] = ['node', 'workerd-selfhosted', 'workerd'];
const LABEL: Record<EdgeRuntime, string> = {
  node: 'node',
  'workerd-selfhosted': 'workerd (self-hosted)',
  workerd: 'workerd (Miniflare)',
  cluster: 'node cluster (1 NATS, 2 edges)',
};

const { values: args } = parseArgs({
  options: {
    runtimes: { type: 'string', default: ALL_RUNTIMES.join(',') },
    sequential: { type: 'string', default: '200' },
    concurrent: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    participants: { type: 'string', default: '100' },
    'room-size': { type: 'string', default: '25' },
    workers: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '900' },
  },
  strict: true,
});
const RUNTIMES = args.runtimes
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean) as EdgeRuntime[];
for (const r of RUNTIMES)
  if (!ALL_RUNTIMES.includes(r))
    throw new Error(`--runtimes: unknown runtime "${r}" (known: ${ALL_RUNTIMES.join(', ')})`);
if (RUNTIMES.length === 0) throw new Error('--runtimes: name at least one runtime');
const SEQUENTIAL = positiveInt('sequential', args.sequential, 1);
const CONCURRENT = positiveInt('concurrent', args.concurrent, 1);
const WARMUP = positiveInt('warmup', args.warmup, 0);
const PARTICIPANTS = positiveInt('participants', args.participants, 2);
const ROOM_SIZE = positiveInt('room-size', args['room-size'], 1);
const WORKERS = positiveInt('workers', args.workers, 1);
const TIMEOUT_S = positiveInt('timeout', args.timeout, 10);
// One host per latency room: stay below the default room capacity (TREFFPUNKT_ROOM_CAPACITY = 100).
if (CONCURRENT > 99) throw new Error('--concurrent must be ≤ 99 (one room, capacity 100 including its host)');
if (ROOM_SIZE > 100) throw new Error('--room-size must be ≤ 100 (the room capacity)');

/**
 * The same settings on every runtime. The per-connection message limit (default 50/s, bursts of 100) is
 * raised so that the back-to-back pings of the baseline are measured, not refused; stack.ts already lifts
 * the per-address connection limit. Neither limiter is skipped: the token buckets still run.
 */
const EDGE_ENV = { TREFFPUNKT_MESSAGES_PER_SECOND: '10000' };

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Bundle sizes.

interface BundleSize {
  path: string;
  bytes: number;
  gzipBytes: number;
}

function sizeOf(rel: string): BundleSize {
  const buf = readFileSync(`${root}${rel}`);
  return { path: rel, bytes: buf.byteLength, gzipBytes: gzipSync(buf, { level: zlib.Z_BEST_COMPRESSION }).byteLength };
}

// ---------------------------------------------------------------------------------------------------
// Memory of the edge process.

/** The edge's RSS in KiB: the median of 5 readings 100 ms apart (after the caller's settle time). */
async function edgeRssKiB(stack: Stack): Promise<number> {
  const pid = stack.edgePid();
  if (!pid) throw new Error('the edge process is gone');
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i) await sleep(100);
    xs.push(vmRssKiB(pid));
  }
  return xs.sort((a, b) => a - b)[2]!;
}

interface MemoryResult {
  participants: number;
  rooms: number;
  idleKiB: number;
  halfKiB: number;
  fullKiB: number;
  /** (full − idle) / K */
  perParticipantKiB: number;
  /** (full − half) / (K − K/2): the same rooms at both points, so no per-room cost. */
  marginalKiB: number;
  /** Node only: the collected JS heap + external memory (HeapProbe) at K/2 and K, and its marginal per participant. */
  heap?: { halfKiB: number; fullKiB: number; marginalKiB: number };
}

async function measureMemory(stack: Stack, track: BenchClient[], probe?: HeapProbe): Promise<MemoryResult> {
  const rooms = Math.ceil(PARTICIPANTS / ROOM_SIZE);
  const half = Math.floor(PARTICIPANTS / 2);
  // Node: a full GC before each RSS reading, so RSS counts what is alive, not garbage not yet collected.
  const heapKiB = async () => {
    const h = await probe?.read();
    return h && h.heapUsedKiB + h.externalKiB;
  };
  await sleep(1000);
  await heapKiB();
  const idleKiB = await edgeRssKiB(stack);
  const joinRange = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const { client } = await joinFlow(stack.wsUrl(`bench-mem-${i % rooms}`)); // round-robin over the rooms
      track.push(client);
    }
  };
  log(`  memory: ${PARTICIPANTS} participants in ${rooms} room${rooms === 1 ? '' : 's'} …`);
  await joinRange(0, half);
  await sleep(1000);
  const heapHalf = await heapKiB();
  const halfKiB = await edgeRssKiB(stack);
  await joinRange(half, PARTICIPANTS);
  await sleep(1000);
  const heapFull = await heapKiB();
  const fullKiB = await edgeRssKiB(stack);
  // Everyone leaves (the latency phases run without them).
  const mine = track.splice(0);
  await Promise.all(mine.map((c) => c.leave()));
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    participants: PARTICIPANTS,
    rooms,
    idleKiB,
    halfKiB,
    fullKiB,
    perParticipantKiB: r1((fullKiB - idleKiB) / PARTICIPANTS),
    marginalKiB: r1((fullKiB - halfKiB) / (PARTICIPANTS - half)),
    heap:
      heapHalf === undefined || heapFull === undefined
        ? undefined
        : {
            halfKiB: r1(heapHalf),
            fullKiB: r1(heapFull),
            marginalKiB: r1((heapFull - heapHalf) / (PARTICIPANTS - half)),
          },
  };
}

// ---------------------------------------------------------------------------------------------------
// Join latency and the ping baseline.

interface LatencyResult {
  sequential: { joinedMs: Summary; connectMs: Summary; pingMs: Summary };
  concurrent: { joinedMs: Summary; connectMs: Summary; pingMs: Summary };
}

async function measureLatency(stack: Stack, track: BenchClient[]): Promise<LatencyResult> {
  const seqUrl = stack.wsUrl('bench-rt-seq');
  const concUrl = stack.wsUrl('bench-rt-conc');
  // A host in each room, so that the room (and its router) stays while the measured participants come and go.
  for (const url of [seqUrl, concUrl]) track.push((await joinFlow(url)).client);

  for (let i = 0; i < WARMUP; i++) await (await joinFlow(seqUrl)).client.leave();

  log(`  baseline: ${SEQUENTIAL} sequential pings …`);
  const pinger = (await joinFlow(seqUrl)).client;
  track.push(pinger);
  const pingSeq: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) pingSeq.push(await pingOnce(pinger));

  log(`  ${SEQUENTIAL} sequential joins …`);
  const seq: JoinSample[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const { client, sample } = await joinFlow(seqUrl);
    seq.push(sample);
    await client.leave();
  }

  log(`  ${CONCURRENT} concurrent joins …`);
  const concRes = await Promise.all(Array.from({ length: CONCURRENT }, () => joinFlow(concUrl)));
  track.push(...concRes.map((r) => r.client));
  log(`  baseline: ${CONCURRENT} concurrent pings …`);
  const pingConc = await Promise.all(concRes.map(({ client }) => pingOnce(client)));

  const mine = track.splice(0);
  await Promise.all(mine.map((c) => c.close()));
  return {
    sequential: {
      joinedMs: summarize(seq.map((s) => s.joined)),
      connectMs: summarize(seq.map((s) => s.connect)),
      pingMs: summarize(pingSeq),
    },
    concurrent: {
      joinedMs: summarize(concRes.map((r) => r.sample.joined)),
      connectMs: summarize(concRes.map((r) => r.sample.connect)),
      pingMs: summarize(pingConc),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// One runtime after the other; whatever runs is known to the watchdog.

interface Running {
  stack: Stack;
  pids: number[];
  clients: BenchClient[];
}
let running: Running | undefined;

/** The edge, the media node and its mediasoup workers: what must be gone after stop(). */
function stackPids(stack: Stack): number[] {
  const node = stack.mediaNode.pid;
  return [
    stack.edgePid(),
    node,
    ...(node ? childPids(node).filter((c) => comm(c).startsWith('mediasoup')) : []),
  ].filter((p): p is number => !!p);
}

/** Stops the stack; returns the pids that were still alive 5 s later (and were then killed). */
async function stopRunning(r: Running): Promise<number[]> {
  await Promise.all(r.clients.splice(0).map((c) => c.close()));
  await Promise.race([r.stack.stop(), sleep(10_000)]);
  for (let i = 0; i < 50 && r.pids.some(alive); i++) await sleep(100);
  const left = r.pids.filter(alive);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

interface RuntimeResult {
  runtime: EdgeRuntime;
  memory: MemoryResult;
  latency: LatencyResult;
  /** pids still alive 5 s after stop() (killed then): should be empty. */
  leftoverPids: number[];
}

async function runRuntime(runtime: EdgeRuntime): Promise<RuntimeResult> {
  log(`${LABEL[runtime]}: starting the stack …`);
  // The Node edge also opens its inspector on loopback, for the collected-heap figure.
  const inspectPort = runtime === 'node' ? await freePortBlock(1) : undefined;
  const edgeEnv =
    inspectPort === undefined ? EDGE_ENV : { ...EDGE_ENV, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` };
  const stack = await startStack({ runtime, workers: WORKERS, edgeEnv });
  const r: Running = { stack, pids: stackPids(stack), clients: [] };
  running = r;
  const probe = inspectPort === undefined ? undefined : await HeapProbe.connect(inspectPort);
  try {
    const memory = await measureMemory(stack, r.clients, probe);
    probe?.close();
    const latency = await measureLatency(stack, r.clients);
    if (!stack.edgeAlive())
      throw new Error(`the ${runtime} edge exited during the run:\n${stack.output().slice(-4000)}`);
    r.pids = [...new Set([...r.pids, ...stackPids(stack)])];
    running = undefined;
    const leftoverPids = await stopRunning(r);
    return { runtime, memory, latency, leftoverPids };
  } catch (err) {
    running = undefined;
    await stopRunning(r);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Output.

function memoryTable(results: RuntimeResult[]): string {
  const cols = ['idle MiB', `${PARTICIPANTS >> 1} MiB`, `${PARTICIPANTS} MiB`, 'KiB/part.', 'marginal'];
  const w = 24;
  const head = `${pad('edge RSS', w)}${cols.map((c) => lpad(c, 11)).join('')}`;
  const mib = (k: number) => (k / 1024).toFixed(1);
  const lines = results.map(
    ({ runtime, memory: m }) =>
      `${pad(LABEL[runtime], w)}${[mib(m.idleKiB), mib(m.halfKiB), mib(m.fullKiB), m.perParticipantKiB.toFixed(1), m.marginalKiB.toFixed(1)].map((c) => lpad(c, 11)).join('')}`,
  );
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

function bundleTable(rows: [string, BundleSize][]): string {
  const w = Math.max(...rows.map(([l]) => l.length));
  const head = `${pad('bundle', w)}  ${lpad('minified', 12)}${lpad('gzip', 12)}`;
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const lines = rows.map(([l, s]) => `${pad(l, w)}  ${lpad(kb(s.bytes), 12)}${lpad(kb(s.gzipBytes), 12)}`);
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

function versionOf(file: string): string {
  try {
    return (JSON.parse(readFileSync(`${root}${file}`, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  log('building the Worker bundle …');
  await buildWorker();
  const worker = sizeOf('dist/worker/worker.js');
  if (!existsSync(`${root}dist/web/index.html`)) {
    log('building the browser app …');
    await buildWeb();
  }
  const script = `dist/web/assets/${await builtScriptName()}`;
  const web = {
    ...sizeOf(script),
    builtAt: statSync(`${root}${script}`).mtime.toISOString(),
  };

  const results: RuntimeResult[] = [];
  for (const runtime of RUNTIMES) results.push(await runRuntime(runtime));

  let workerdVersion = '?';
  try {
    workerdVersion = execFileSync(`${root}node_modules/workerd/bin/workerd`, ['--version'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    // not installed
  }
  const json = {
    benchmark: 'edge-runtimes',
    startedAt,
    machine: machineInfo(),
    loadAvg: { start: loadAtStart, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    versions: {
      workerdSelfhosted: workerdVersion,
      miniflare: versionOf('node_modules/miniflare/package.json'),
      miniflareWorkerd: versionOf('node_modules/miniflare/node_modules/workerd/package.json'),
    },
    config: {
      edgeEnv: EDGE_ENV,
      runtimes: RUNTIMES,
      sequential: SEQUENTIAL,
      concurrent: CONCURRENT,
      warmup: WARMUP,
      participants: PARTICIPANTS,
      roomSize: ROOM_SIZE,
      workers: WORKERS,
    },
    bundles: { worker, web },
    runtimes: Object.fromEntries(
      results.map((r) => [r.runtime, { memory: r.memory, latency: r.latency, leftoverPids: r.leftoverPids }]),
    ),
  };

  const out: string[] = [];
  out.push('', `Treffpunkt edge runtimes benchmark — ${startedAt}`);
  out.push(
    `${json.machine.cpus} CPUs (${json.machine.cpuModel}), ${json.machine.memGiB} GiB, Node ${process.version}, ${json.versions.workerdSelfhosted} (self-hosted), Miniflare ${json.versions.miniflare} (workerd ${json.versions.miniflareWorkerd}), ${WORKERS} mediasoup worker(s), loopback`,
  );
  out.push(
    `runtimes, one after the other: ${RUNTIMES.join(', ')} · warm-up: ${WARMUP} joins (not measured) · load average (1/5/15 min) at start ${json.loadAvg.start.join(' ')}, at end ${json.loadAvg.end.join(' ')}`,
  );
  const byRuntime = (pick: (r: RuntimeResult) => Summary): [string, Summary][] =>
    results.map((r) => [LABEL[r.runtime], pick(r)]);
  out.push('', `Join, open → joined: ${SEQUENTIAL} sequential (each leaves before the next opens)`);
  out.push(latencyTable(byRuntime((r) => r.latency.sequential.joinedMs)));
  out.push('', `Join, open → joined: ${CONCURRENT} concurrent (all at once into one room, stay connected)`);
  out.push(latencyTable(byRuntime((r) => r.latency.concurrent.joinedMs)));
  out.push('', `Baseline: ping round trip, ${SEQUENTIAL} sequential on one open socket`);
  out.push(latencyTable(byRuntime((r) => r.latency.sequential.pingMs)));
  out.push('', `Baseline: ping round trip, ${CONCURRENT} at once (one per concurrently joined socket)`);
  out.push(latencyTable(byRuntime((r) => r.latency.concurrent.pingMs)));
  out.push('', `Context: new WebSocket → open (the upgrade; not in the join figures), sequential / concurrent`);
  out.push(
    latencyTable(
      results.flatMap((r): [string, Summary][] => [
        [`${LABEL[r.runtime]}, seq`, r.latency.sequential.connectMs],
        [`${LABEL[r.runtime]}, conc`, r.latency.concurrent.connectMs],
      ]),
    ),
  );
  out.push(
    '',
    `Edge process memory: ${PARTICIPANTS} participants joined and connected in ${Math.ceil(PARTICIPANTS / ROOM_SIZE)} room(s) of up to ${ROOM_SIZE} (RSS median of 5 readings, 1 s after each step; Node: after a full GC)`,
  );
  out.push(memoryTable(results));
  for (const { runtime, memory: m } of results)
    if (m.heap)
      out.push(
        `${LABEL[runtime]}, collected JS heap + external (after a full GC, over the inspector): ${(m.heap.halfKiB / 1024).toFixed(1)} MiB at ${PARTICIPANTS >> 1}, ${(m.heap.fullKiB / 1024).toFixed(1)} MiB at ${PARTICIPANTS}, marginal ${m.heap.marginalKiB.toFixed(1)} KiB per participant`,
      );
  out.push(
    `KiB/part. = (RSS_${PARTICIPANTS} − RSS_idle) / ${PARTICIPANTS}; marginal = (RSS_${PARTICIPANTS} − RSS_${PARTICIPANTS >> 1}) / ${PARTICIPANTS - (PARTICIPANTS >> 1)} (same rooms at both points)`,
  );
  out.push(
    '',
    bundleTable([
      ['Worker (dist/worker/worker.js)', worker],
      ['browser app (dist/web/assets/app-<hash>.js)', web],
    ]),
  );
  out.push('(gzip: node:zlib level 9)');
  const leftovers = results.flatMap((r) => r.leftoverPids);
  out.push(
    '',
    leftovers.length
      ? `WARNING: processes still alive 5 s after stop() were killed: ${leftovers.join(', ')}`
      : 'cleanup: every edge, media node and mediasoup worker this run started has exited',
    '',
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
}

// The watchdog, Ctrl-C and SIGTERM never leave an edge, workerd or media node behind.
let aborting = false;
async function abort(why: string): Promise<never> {
  if (!aborting) {
    aborting = true;
    process.stderr.write(`edge runtimes benchmark: ${why}\n`);
    const r = running;
    running = undefined;
    if (r) {
      r.pids = [...new Set([...r.pids, ...stackPids(r.stack)])];
      await Promise.race([stopRunning(r), sleep(15_000)]);
      for (const pid of r.pids.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  }
  process.exit(1);
}
setTimeout(() => void abort(`gave up after ${TIMEOUT_S} s`), TIMEOUT_S * 1000).unref();
process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`edge runtimes benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await abort('failed');
  },
);
