/**
 * Cross-node pipe benchmark: measured, not asserted. Starts one stack with two media nodes (node-a in
 * region "north", node-b in region "south", one mediasoup worker each, loopback only) and measures, in the
 * same run, what piping a stream from node-a's router to node-b's (SRTP PipeTransport pair, see
 * edge/core/room/pipes.ts) costs compared with forwarding it on the same node:
 *
 *   latency  One publisher on node-a sends synthetic Opus RTP at 50 packets/s (a valid Opus TOC byte, then a
 *            packet counter; mediasoup forwards Opus payloads without decoding). Two receivers in the same
 *            room get every packet: one on node-a (the same-node baseline) and one on node-b (through the
 *            pipe). Send → receive delay per packet, in this process's clock (performance.now(): before
 *            writeRtp on the sending werift peer, when the receiving werift peer hands over the decrypted
 *            packet). Also the per-packet difference cross − same for packets both received, and loss.
 *   CPU      utime+stime (/proc/<pid>/stat, all threads) of each node's mediasoup-worker and Node process
 *            (and, for context, of the edge) over measuring windows:
 *              idle    right after the stack started, no room;
 *              silent  every room set up and every peer connected, nobody sending;
 *              (a)     N receivers on node-a consume a publisher on node-a (room bench-pipe-cpu-same);
 *              (b)     N receivers on node-b consume a publisher on node-a, through the pipe (room
 *                      bench-pipe-cpu-pipe).
 *            Both rooms are set up once; only the measured condition's publisher sends, and (a) and (b)
 *            alternate for --rounds rounds so that load drift on a shared machine hits both alike.
 *   bytes    The pipe's stats from both nodes' control API (GET /v1/rooms/<room>/pipes/<peer>/stats) over
 *            each (b) window, next to what the publisher sent and the N receivers got: the stream crosses
 *            once however many consume it.
 *
 *   node test/bench/pipe.ts [--seconds 30] [--receivers 10] [--cpu-seconds 10] [--rounds 3]
 *                           [--idle-seconds 5] [--payload 160] [--timeout 600]
 *
 * Prints tables to stdout (progress to stderr), then one line `BENCH_JSON {...}` with every number. The
 * receivers are werift peers with real ICE/DTLS/SRTP in this process; their CPU is not counted (only the
 * media nodes', their workers' and the edge's). See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { RTCPeerConnection } from 'werift';
import { startStack, type Stack, type StackNode } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import {
  childPids,
  comm,
  latencyTable,
  lpad,
  machineInfo,
  pad,
  positiveInt,
  summarize,
  runBenchmark,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    receivers: { type: 'string', default: '10' },
    'cpu-seconds': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'idle-seconds': { type: 'string', default: '5' },
    payload: { type: 'string', default: '160' },
    timeout: { type: 'string', default: '600' },
  },
  strict: true,
});
const SECONDS = positiveInt('seconds', args.seconds, 1);
const RECEIVERS = positiveInt('receivers', args.receivers, 1);
const CPU_SECONDS = positiveInt('cpu-seconds', args['cpu-seconds'], 1);
const ROUNDS = positiveInt('rounds', args.rounds, 1);
const IDLE_SECONDS = positiveInt('idle-seconds', args['idle-seconds'], 1);
const PAYLOAD = positiveInt('payload', args.payload, 8);
const WATCHDOG_MS = positiveInt('timeout', args.timeout, 30) * 1000;

const PACKET_INTERVAL_MS = 20; // 50 packets/s, one Opus frame of 20 ms each
const WARMUP_MS = 2000; // before each measuring window: the stream starts, consumers settle
const DRAIN_MS = 1000; // after the last packet of the latency phase, for packets still in flight
const OPUS_TOC = 0xfc; // config 31 (CELT, fullband, 20 ms), stereo, one frame
const ROOMS = { latency: 'bench-pipe-latency', same: 'bench-pipe-cpu-same', pipe: 'bench-pipe-cpu-pipe' } as const;

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round2 = (x: number) => Math.round(x * 100) / 100;
const load = () => loadavg().map(round2);

// ---------------------------------------------------------------------------------------------------
// CPU time from /proc.

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of a process (all its threads) in ms; NaN when it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

interface Proc {
  key: string;
  label: string;
  pid: number;
}

const PROC_KEYS = ['aWorker', 'aNode', 'bWorker', 'bNode'] as const;

function processes(stack: Stack): Proc[] {
  const [a, b] = stack.mediaNodes as [StackNode, StackNode];
  const worker = (n: StackNode) => {
    const pids = childPids(n.process.pid!).filter((p) => comm(p).startsWith('mediasoup'));
    if (pids.length !== 1) throw new Error(`${n.nodeId}: expected one mediasoup-worker child, found ${pids.length}`);
    return pids[0]!;
  };
  return [
    { key: 'aWorker', label: 'node-a mediasoup-worker', pid: worker(a) },
    { key: 'aNode', label: 'node-a media node (Node)', pid: a.process.pid! },
    { key: 'bWorker', label: 'node-b mediasoup-worker', pid: worker(b) },
    { key: 'bNode', label: 'node-b media node (Node)', pid: b.process.pid! },
    { key: 'edge', label: 'edge (Node), context', pid: stack.edgePid()! },
  ];
}

/** CPU ms per wall-clock second of each process over a window of `ms`. */
async function cpuWindow(procs: Proc[], ms: number, during?: () => Promise<void>): Promise<Record<string, number>> {
  const t0 = performance.now();
  const c0 = procs.map((p) => cpuMs(p.pid));
  await (during ? during() : sleep(ms));
  const c1 = procs.map((p) => cpuMs(p.pid));
  const wall = (performance.now() - t0) / 1000;
  return Object.fromEntries(procs.map((p, i) => [p.key, (c1[i]! - c0[i]!) / wall]));
}

// ---------------------------------------------------------------------------------------------------
// Synthetic Opus RTP with a packet counter, and receivers that time it.

/** Send times by packet counter (performance.now()). */
const sentAt = new Map<number, number>();
let counter = 0;

function rtpPacket(pt: number, seq: number, n: number): Buffer {
  const b = Buffer.alloc(12 + PAYLOAD);
  b[0] = 0x80;
  b[1] = pt & 0x7f;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((n * 960) >>> 0, 4); // 20 ms at 48 kHz
  b.writeUInt32BE(0x11223344, 8); // the werift sender puts its own SSRC
  b[12] = OPUS_TOC;
  b.writeUInt32BE(n >>> 0, 13);
  return b;
}

interface Publisher {
  room: string;
  client: SignalingClient;
  pc: RTCPeerConnection;
  producerId: string;
  write: (p: Buffer) => void;
  seq: number;
}

/**
 * Sends 50 packets/s into whichever publisher is active (one at a time). Scheduled on absolute times, so
 * that a late timer on a busy machine sends the missed packets right away (at most 50, one second, at once)
 * instead of lowering the rate; every packet's send time is taken when it is written.
 */
function pacer(pt: number) {
  let active: Publisher | undefined;
  let sent = 0;
  let due = 0;
  let timer: NodeJS.Timeout | undefined;
  const t0 = performance.now();
  const tick = () => {
    const target = Math.floor((performance.now() - t0) / PACKET_INTERVAL_MS) + 1;
    for (let burst = 0; due < target && burst < 50; burst++, due++) {
      if (!active) continue;
      const n = ++counter;
      const packet = rtpPacket(pt, active.seq++, n);
      sentAt.set(n, performance.now());
      sent++;
      active.write(packet);
    }
    due = Math.max(due, target);
    timer = setTimeout(tick, Math.max(0, t0 + due * PACKET_INTERVAL_MS - performance.now()));
  };
  tick();
  return {
    set(p: Publisher | undefined) {
      active = p;
    },
    get sent() {
      return sent;
    },
    stop: () => clearTimeout(timer),
  };
}

interface Receiver {
  label: string;
  client: SignalingClient;
  pc: RTCPeerConnection;
  consumerId: string;
  /** Receive time by counter (first arrival); duplicates and reordering counted apart. */
  got: Map<number, number>;
  duplicates: number;
  reordered: number;
  last: number;
  bytes: number;
}

function tap(r: Receiver): void {
  const track = r.pc.getTransceivers()[0]?.receiver.tracks[0];
  if (!track) throw new Error(`${r.label}: the werift receiver has no track`);
  track.onReceiveRtp.subscribe((rtp) => {
    const now = performance.now();
    if (rtp.payload.length < 5 || rtp.payload[0] !== OPUS_TOC) return;
    const n = rtp.payload.readUInt32BE(1);
    r.bytes += rtp.header.serializeSize + rtp.payload.length;
    if (r.got.has(n)) {
      r.duplicates++;
      return;
    }
    if (n < r.last) r.reordered++;
    r.last = Math.max(r.last, n);
    r.got.set(n, now);
  });
}

async function joinIn(stack: Stack, room: string, name: string, region: string) {
  const client = await SignalingClient.connect(stack.wsUrl(room));
  const joined = await client.request('join', { protocolVersion: PROTOCOL_VERSION, name, region });
  return { client, joined };
}

async function publisher(stack: Stack, room: string): Promise<Publisher & { pt: number }> {
  const { client, joined } = await joinIn(stack, room, 'Publisher', 'north');
  const pt = opusPayloadType(joined.routerRtpCapabilities);
  const pub = await publishAudio(client, pt);
  return { room, client, pc: pub.pc, producerId: pub.producerId, write: pub.writeRtp, seq: 1, pt };
}

async function receiver(
  stack: Stack,
  room: string,
  label: string,
  region: string,
  pt: number,
  producerId: string,
): Promise<Receiver> {
  const { client } = await joinIn(stack, room, label, region);
  const rx = await receiveAudio(client, pt, producerId);
  const r: Receiver = {
    label,
    client,
    pc: rx.pc,
    consumerId: rx.consumerId,
    got: new Map(),
    duplicates: 0,
    reordered: 0,
    last: 0,
    bytes: 0,
  };
  tap(r);
  return r;
}

/** Packets with counter in (from, to] a receiver got. */
const gotBetween = (r: Receiver, from: number, to: number) => {
  let n = 0;
  for (const k of r.got.keys()) if (k > from && k <= to) n++;
  return n;
};

// ---------------------------------------------------------------------------------------------------
// Control API: node load and pipe stats.

interface NodeLoad {
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}
async function nodeLoad(node: StackNode): Promise<NodeLoad> {
  const res = await fetch(`${node.controlUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { load: NodeLoad }).load;
}

interface PipeStats {
  srtpCryptoSuite: string | null;
  pipedOut: number;
  bytesSent: number;
  bytesReceived: number;
  rtpBytesSent: number;
  rtpBytesReceived: number;
}
async function pipeStats(node: StackNode, room: string, peer: string): Promise<PipeStats | null> {
  const res = await node.controlFetch(`/v1/rooms/${room}/pipes/${peer}/stats`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`pipe stats ${node.nodeId} → ${peer}: HTTP ${res.status}`);
  return (await res.json()) as PipeStats;
}

async function consumerPackets(node: StackNode, room: string, consumerId: string): Promise<number> {
  const res = await node.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`);
  const body = (await res.json()) as { stats: { type: string; packetCount?: number }[] };
  return body.stats.find((s) => s.type === 'outbound-rtp')?.packetCount ?? 0;
}

// ---------------------------------------------------------------------------------------------------
// Output helpers.

function cpuTable(columns: [string, Record<string, number>][], procs: Proc[]): string {
  const w = Math.max(...procs.map((p) => p.label.length), 'total, both nodes + workers'.length);
  const cw = Math.max(12, ...columns.map(([h]) => h.length + 2));
  const head = `${pad('CPU ms/s', w)}${columns.map(([h]) => lpad(h, cw)).join('')}`;
  const row = (label: string, f: (c: Record<string, number>) => number) =>
    `${pad(label, w)}${columns.map(([, c]) => lpad(f(c).toFixed(1), cw)).join('')}`;
  const total = (c: Record<string, number>) => PROC_KEYS.reduce((s, k) => s + (c[k] ?? 0), 0);
  return [
    head,
    '-'.repeat(head.length),
    ...procs.filter((p) => p.key !== 'edge').map((p) => row(p.label, (c) => c[p.key] ?? Number.NaN)),
    row('total, both nodes + workers', total),
    row('edge (Node), context', (c) => c.edge ?? Number.NaN),
  ].join('\n');
}

const mean = (rs: Record<string, number>[]) => {
  const keys = Object.keys(rs[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, rs.reduce((s, r) => s + (r[k] ?? 0), 0) / rs.length]));
};
const minus = (x: Record<string, number>, y: Record<string, number>) =>
  Object.fromEntries(Object.keys(x).map((k) => [k, (x[k] ?? 0) - (y[k] ?? 0)]));
const totalOf = (c: Record<string, number>) => round2(PROC_KEYS.reduce((s, k) => s + (c[k] ?? 0), 0));
const rounded = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round2(v)]));

/** Warnings and errors the edge and the nodes logged (pino levels 40 and 50), grouped by message. */
function logProblems(output: string): { level: number; msg: string; count: number }[] {
  const seen = new Map<string, { level: number; msg: string; count: number }>();
  for (const line of output.split('\n')) {
    if (!/"level":(40|50|60)/.test(line)) continue;
    let level = 0;
    let msg = line.slice(0, 200);
    try {
      const j = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string }; nodeId?: string };
      level = j.level;
      msg = `${j.msg ?? ''}${j.err?.message ? `: ${j.err.message}` : ''}`;
    } catch {
      // a line split across chunks: keep its start
    }
    const k = `${level} ${msg}`;
    const e = seen.get(k) ?? { level, msg, count: 0 };
    e.count++;
    seen.set(k, e);
  }
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------------
// The run.

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = load();
  log(
    `pipe benchmark: starting a stack with node-a (north) and node-b (south) · load average ${loadAtStart.join(' ')}`,
  );
  const stack = await startStack({
    nodes: [
      { nodeId: 'node-a', region: 'north' },
      { nodeId: 'node-b', region: 'south' },
    ],
    workers: 1,
    edgeEnv: { TREFFPUNKT_MESSAGES_PER_SECOND: '10000' },
  });
  activeStack = stack;
  const [a, b] = stack.mediaNodes as [StackNode, StackNode];
  const publishers: Publisher[] = [];
  const receivers: Receiver[] = [];
  let pace: ReturnType<typeof pacer> | undefined;
  try {
    const procs = processes(stack);
    const loggedPids = [...stack.output().matchAll(/"pid":(\d+)[^\n]*"msg":"mediasoup worker ready"/g)].map((m) =>
      Number(m[1]),
    );
    for (const p of procs.filter((x) => x.key.endsWith('Worker'))) {
      if (loggedPids.length > 0 && !loggedPids.includes(p.pid))
        log(
          `note: worker pid ${p.pid} (${p.label}) not among the logged "mediasoup worker ready" pids ${loggedPids.join(', ')}`,
        );
    }

    // Idle: the stack as started, no room (after a few seconds, so that start-up work is over).
    await sleep(3000);
    log(`idle: ${IDLE_SECONDS} s …`);
    const idle = await cpuWindow(procs, IDLE_SECONDS * 1000);

    // ---- set-up: three rooms, each with one publisher on node-a.
    log('setting up rooms …');
    const latPub = await publisher(stack, ROOMS.latency);
    publishers.push(latPub);
    const pt = latPub.pt;
    const sameRx = await receiver(stack, ROOMS.latency, 'same node (node-a)', 'north', pt, latPub.producerId);
    const crossRx = await receiver(
      stack,
      ROOMS.latency,
      'cross node (node-a → node-b)',
      'south',
      pt,
      latPub.producerId,
    );
    receivers.push(sameRx, crossRx);
    const afterLatency = await Promise.all([nodeLoad(a), nodeLoad(b)]);
    if (afterLatency[0].consumers !== 1 || afterLatency[1].consumers !== 1 || afterLatency[1].producers !== 1) {
      throw new Error(
        `latency room not placed as intended: node-a ${JSON.stringify(afterLatency[0])}, node-b ${JSON.stringify(afterLatency[1])}`,
      );
    }

    const samePub = await publisher(stack, ROOMS.same);
    const pipePub = await publisher(stack, ROOMS.pipe);
    publishers.push(samePub, pipePub);
    log(`connecting ${RECEIVERS} receivers on node-a and ${RECEIVERS} on node-b …`);
    const sameGroup = await Promise.all(
      Array.from({ length: RECEIVERS }, (_, i) =>
        receiver(stack, ROOMS.same, `a-${i + 1}`, 'north', pt, samePub.producerId),
      ),
    );
    receivers.push(...sameGroup);
    const pipeGroup = await Promise.all(
      Array.from({ length: RECEIVERS }, (_, i) =>
        receiver(stack, ROOMS.pipe, `b-${i + 1}`, 'south', pt, pipePub.producerId),
      ),
    );
    receivers.push(...pipeGroup);
    const placed = await Promise.all([nodeLoad(a), nodeLoad(b)]);
    if (
      placed[0].consumers !== 1 + RECEIVERS ||
      placed[1].consumers !== 1 + RECEIVERS ||
      placed[0].producers !== 3 ||
      placed[1].producers !== 2
    ) {
      throw new Error(
        `rooms not placed as intended: node-a ${JSON.stringify(placed[0])}, node-b ${JSON.stringify(placed[1])}`,
      );
    }
    log(`placed: node-a ${JSON.stringify(placed[0])}, node-b ${JSON.stringify(placed[1])}`);

    // Silent: everyone connected, nobody sending (ICE consent, RTCP, heartbeats).
    await sleep(1000);
    log(`silent, all connected: ${IDLE_SECONDS} s …`);
    const silent = await cpuWindow(procs, IDLE_SECONDS * 1000);

    pace = pacer(pt);

    // ---- 1. latency.
    log(`latency: warm-up ${WARMUP_MS / 1000} s, then ${SECONDS} s at 50 packets/s …`);
    pace.set(latPub);
    await waitFor(
      'both latency receivers to get packets',
      () => sameRx.got.size > 20 && crossRx.got.size > 20,
      15_000,
      20,
    );
    await sleep(WARMUP_MS);
    const latFrom = counter;
    const latPipe0 = await pipeStats(a, ROOMS.latency, b.nodeId);
    const latencyCpu = await cpuWindow(procs, SECONDS * 1000);
    const latTo = counter;
    pace.set(undefined);
    await sleep(DRAIN_MS);
    const latPipe1 = await pipeStats(a, ROOMS.latency, b.nodeId);
    const latPipeB = await pipeStats(b, ROOMS.latency, a.nodeId);

    const delays = (r: Receiver) => {
      const xs: number[] = [];
      for (let n = latFrom + 1; n <= latTo; n++) {
        const t = r.got.get(n);
        if (t !== undefined) xs.push(t - sentAt.get(n)!);
      }
      return xs;
    };
    const paired: number[] = [];
    for (let n = latFrom + 1; n <= latTo; n++) {
      const s = sameRx.got.get(n);
      const c = crossRx.got.get(n);
      if (s !== undefined && c !== undefined) paired.push(c - s);
    }
    const sameDelays = delays(sameRx);
    const crossDelays = delays(crossRx);
    const latSent = latTo - latFrom;
    const lossOf = (r: Receiver) => ({
      sent: latSent,
      received: gotBetween(r, latFrom, latTo),
      lost: latSent - gotBetween(r, latFrom, latTo),
      duplicates: r.duplicates,
      reordered: r.reordered,
    });
    const latency = {
      sameMs: summarize(sameDelays),
      crossMs: summarize(crossDelays),
      pairedDiffMs: summarize(paired),
      same: lossOf(sameRx),
      cross: lossOf(crossRx),
      pipe:
        latPipe0 && latPipe1
          ? {
              srtpCryptoSuite: latPipe1.srtpCryptoSuite,
              pipedOut: latPipe1.pipedOut,
              rtpBytesSent: latPipe1.rtpBytesSent - latPipe0.rtpBytesSent,
              bytesSent: latPipe1.bytesSent - latPipe0.bytesSent,
              packetsSent: latSent,
            }
          : null,
      pipeReverse: latPipeB,
      cpuMsPerS: rounded(latencyCpu),
    };

    // ---- 2. CPU, (a) same node vs (b) through the pipe, alternating.
    interface Window {
      cpu: Record<string, number>;
      sent: number;
      receivedMin: number;
      receivedMax: number;
      streamPackets: number;
      receivedBytes: number;
      pipeA?: PipeStats | null;
      pipeB?: PipeStats | null;
      pipeBytesSent?: number;
      pipeBytesReceived?: number;
      pipeRtpBytesSent?: number;
      pipeRtpBytesReceived?: number;
      sfuPacketsMin?: number;
    }
    const windows: { same: Window[]; pipe: Window[] } = { same: [], pipe: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const cond of ['same', 'pipe'] as const) {
        const pub = cond === 'same' ? samePub : pipePub;
        const group = cond === 'same' ? sameGroup : pipeGroup;
        log(
          `round ${round}/${ROUNDS}, (${cond === 'same' ? 'a' : 'b'}) ${RECEIVERS} receivers on ${cond === 'same' ? 'node-a' : 'node-b (through the pipe)'}: ${CPU_SECONDS} s …`,
        );
        // Pipe and receiver bytes are read while this room is quiet (before its stream starts, after it
        // stopped and drained), so that they cover exactly the packets sent in between.
        const pA0 = cond === 'pipe' ? await pipeStats(a, ROOMS.pipe, b.nodeId) : null;
        const pB0 = cond === 'pipe' ? await pipeStats(b, ROOMS.pipe, a.nodeId) : null;
        const bytes0 = group.reduce((s, r) => s + r.bytes, 0);
        const mark = counter;
        pace.set(pub);
        await waitFor(
          `all ${cond} receivers to get packets`,
          () => group.every((r) => gotBetween(r, mark, counter) > 10),
          15_000,
          20,
        );
        await sleep(WARMUP_MS);
        const from = counter;
        const cpu = await cpuWindow(procs, CPU_SECONDS * 1000);
        const to = counter;
        pace.set(undefined);
        const end = counter;
        await sleep(DRAIN_MS);
        const bytes1 = group.reduce((s, r) => s + r.bytes, 0);
        const pA1 = cond === 'pipe' ? await pipeStats(a, ROOMS.pipe, b.nodeId) : null;
        const pB1 = cond === 'pipe' ? await pipeStats(b, ROOMS.pipe, a.nodeId) : null;
        const counts = group.map((r) => gotBetween(r, from, to));
        const w: Window = {
          cpu: rounded(cpu),
          sent: to - from,
          receivedMin: Math.min(...counts),
          receivedMax: Math.max(...counts),
          streamPackets: end - mark,
          receivedBytes: bytes1 - bytes0,
        };
        if (cond === 'pipe' && pA0 && pA1 && pB0 && pB1) {
          Object.assign(w, {
            pipeA: pA1,
            pipeB: pB1,
            pipeBytesSent: pA1.bytesSent - pA0.bytesSent,
            pipeRtpBytesSent: pA1.rtpBytesSent - pA0.rtpBytesSent,
            pipeBytesReceived: pB1.bytesReceived - pB0.bytesReceived,
            pipeRtpBytesReceived: pB1.rtpBytesReceived - pB0.rtpBytesReceived,
          });
        }
        windows[cond].push(w);
      }
    }
    const sfuPackets = {
      same: await Promise.all(sameGroup.map((r) => consumerPackets(a, ROOMS.same, r.consumerId))),
      pipe: await Promise.all(pipeGroup.map((r) => consumerPackets(b, ROOMS.pipe, r.consumerId))),
    };
    const cpuSame = mean(windows.same.map((w) => w.cpu));
    const cpuPipe = mean(windows.pipe.map((w) => w.cpu));
    const problems = logProblems(stack.output());
    const loadAtEnd = load();

    const results = {
      benchmark: 'pipe',
      startedAt,
      machine: machineInfo(),
      loadAvg: { start: loadAtStart, end: loadAtEnd },
      config: {
        seconds: SECONDS,
        receivers: RECEIVERS,
        cpuSeconds: CPU_SECONDS,
        rounds: ROUNDS,
        idleSeconds: IDLE_SECONDS,
        payloadBytes: PAYLOAD,
        packetsPerSecond: 1000 / PACKET_INTERVAL_MS,
        clkTck: CLK_TCK,
      },
      pids: Object.fromEntries(procs.map((p) => [p.key, p.pid])),
      latency,
      cpuMsPerS: {
        idle: rounded(idle),
        silent: rounded(silent),
        same: rounded(cpuSame),
        pipe: rounded(cpuPipe),
        pipeMinusSame: rounded(minus(cpuPipe, cpuSame)),
        totals: { idle: totalOf(idle), silent: totalOf(silent), same: totalOf(cpuSame), pipe: totalOf(cpuPipe) },
      },
      windows,
      sfuConsumerPacketsTotal: sfuPackets,
      logProblems: problems,
    };

    // ---- output.
    const out: string[] = [];
    out.push('', `Treffpunkt cross-node pipe benchmark — ${startedAt}`);
    out.push(
      `${results.machine.cpus} CPUs (${results.machine.cpuModel}), ${results.machine.memGiB} GiB, Node ${process.version}, 2 media nodes × 1 mediasoup worker, loopback`,
    );
    out.push(`load average (1/5/15 min) at start ${loadAtStart.join(' ')}, at end ${loadAtEnd.join(' ')}`);
    out.push(
      `synthetic Opus RTP, ${12 + PAYLOAD} B per packet (${PAYLOAD} B payload), 50 packets/s · latency ${SECONDS} s · CPU windows ${CPU_SECONDS} s × ${ROUNDS} round(s) per condition, (a)/(b) alternating · idle/silent ${IDLE_SECONDS} s · CLK_TCK ${CLK_TCK}`,
    );

    out.push(
      '',
      `1. Latency, send → receive (one publisher on node-a, both receivers get the same ${latSent} packets)`,
    );
    out.push(
      latencyTable([
        ['same node: node-a → receiver on node-a', latency.sameMs],
        ['cross node: node-a → pipe → node-b → receiver', latency.crossMs],
        ['per packet: cross − same', latency.pairedDiffMs],
      ]),
    );
    const d = (k: 'p50' | 'p95' | 'p99' | 'max') => (latency.crossMs[k] - latency.sameMs[k]).toFixed(2);
    out.push(
      `difference of the percentiles, cross − same: p50 ${d('p50')} · p95 ${d('p95')} · p99 ${d('p99')} · max ${d('max')} ms`,
    );
    for (const [name, l] of [
      ['same', latency.same],
      ['cross', latency.cross],
    ] as const) {
      out.push(
        `${pad(name, 5)}: received ${l.received}/${l.sent}, lost ${l.lost}, duplicates ${l.duplicates}, reordered ${l.reordered}`,
      );
    }
    if (latency.pipe)
      out.push(
        `pipe node-a → node-b during the window: ${latency.pipe.srtpCryptoSuite}, pipedOut ${latency.pipe.pipedOut}, rtpBytesSent ${latency.pipe.rtpBytesSent} (${(latency.pipe.rtpBytesSent / latSent).toFixed(1)} B per packet sent)`,
      );

    out.push(
      '',
      `2. CPU, ms of CPU per second of wall time (mean over ${ROUNDS} window(s) of ${CPU_SECONDS} s; ${RECEIVERS} receivers, one publisher on node-a)`,
    );
    out.push(
      cpuTable(
        [
          ['idle', idle],
          ['silent', silent],
          ['(a) same', cpuSame],
          ['(b) pipe', cpuPipe],
          ['(b) − (a)', minus(cpuPipe, cpuSame)],
        ],
        procs,
      ),
    );
    out.push('idle = stack started, no room · silent = all rooms and peers connected, nobody sending');
    out.push(
      `(a) ${RECEIVERS} receivers on node-a, no pipe · (b) ${RECEIVERS} receivers on node-b, stream piped from node-a`,
    );
    out.push(`(1 ms/s = 0.1 % of one core; /proc resolution 1 tick = ${1000 / CLK_TCK} ms per window)`);
    out.push('', 'Each window, in the order measured:');
    out.push(
      cpuTable(
        [
          ...Array.from(
            { length: ROUNDS },
            (_, i) =>
              [
                [`(a) #${i + 1}`, windows.same[i]!.cpu],
                [`(b) #${i + 1}`, windows.pipe[i]!.cpu],
              ] as [string, Record<string, number>][],
          ).flat(),
          ['latency', latencyCpu],
        ],
        procs,
      ),
    );
    out.push('latency = the latency window above (one receiver on each node, through the pipe for node-b)');
    for (const cond of ['same', 'pipe'] as const) {
      const ws = windows[cond];
      out.push(
        `  ${cond === 'same' ? '(a)' : '(b)'} packets sent ${ws.map((w) => `${w.sent} (${(w.sent / CPU_SECONDS).toFixed(1)}/s)`).join(', ')}, received per receiver min–max ${ws.map((w) => `${w.receivedMin}–${w.receivedMax}`).join(', ')}`,
      );
    }

    out.push(
      '',
      '3. Bytes through the pipe (room of (b); each time its stream ran: warm-up + window, read while quiet)',
    );
    for (const [i, w] of windows.pipe.entries()) {
      const pubBytes = w.streamPackets * (12 + PAYLOAD);
      out.push(
        `  round ${i + 1}: publisher sent ${w.streamPackets} packets, ${pubBytes} B RTP · pipe node-a → node-b: rtpBytesSent ${w.pipeRtpBytesSent} on node-a, rtpBytesReceived ${w.pipeRtpBytesReceived} on node-b (${((w.pipeRtpBytesSent ?? 0) / w.streamPackets).toFixed(1)} B/packet, ${((w.pipeRtpBytesSent ?? 0) / pubBytes).toFixed(2)}× the stream; with RTCP: bytesSent ${w.pipeBytesSent}, bytesReceived ${w.pipeBytesReceived}) · ${RECEIVERS} receivers got ${w.receivedBytes} B RTP (${(w.receivedBytes / pubBytes).toFixed(2)}× the stream)`,
      );
    }
    const lastPipe = windows.pipe.at(-1)?.pipeA;
    if (lastPipe)
      out.push(
        `  pipe node-a → node-b: ${lastPipe.srtpCryptoSuite}, pipedOut ${lastPipe.pipedOut} (producers piped out to node-b, for ${RECEIVERS} consumers there)`,
      );

    out.push('', `Logged warnings/errors (edge and both nodes, whole run): ${problems.length === 0 ? 'none' : ''}`);
    for (const p of problems.slice(0, 10)) out.push(`  level ${p.level} ×${p.count}: ${p.msg}`);
    out.push('');
    process.stdout.write(`${out.join('\n')}\n`);
    process.stdout.write(`BENCH_JSON ${JSON.stringify(results)}\n`);
  } finally {
    pace?.stop();
    const cleanup = async () => {
      for (const r of receivers) await r.pc.close().catch(() => undefined);
      for (const p of publishers) await p.pc.close().catch(() => undefined);
      await Promise.all([...receivers, ...publishers].map((x) => x.client.close()));
    };
    await Promise.race([cleanup(), sleep(10_000)]);
    await stack.stop();
    activeStack = undefined;
  }
}

/** The running stack, so that the watchdog and Ctrl-C never leave the edge or the media nodes behind. */
let activeStack: Stack | undefined;
runBenchmark('pipe', WATCHDOG_MS, () => activeStack, main);
