/**
 * Join benchmark: measured, not asserted. Starts the real stack (Node edge + media node + mediasoup
 * worker, loopback only) and prints join latency and process RSS; it fails only if the protocol does.
 *
 *   (a) WebSocket open → `join` reply (carries the router RTP capabilities)
 *   (b) WebSocket open → first consumer ready: join, createTransport(recv), connectTransport, consume the
 *       audio producer of a participant already in the room, resumeConsumer; "ready" = the resume reply.
 *       The consuming side does no ICE/DTLS (well-formed fake DTLS fingerprint): this is signaling + SFU
 *       setup, not media connectivity.
 *   (c) the same consumer as the browser app makes it: the transport made and connected by the join
 *       (`media`, JoinMedia), and a consume with `paused: false`, which makes an audio consumer that runs at
 *       once: join, consume ("ready" = the consume reply; resumeConsumer only from an edge that made it
 *       paused anyway).
 *   baseline  `ping` round trip on already-open, joined sockets (answered by the edge without the room
 *       queue and without the media node): what plain WebSocket round trips cost on this machine.
 *   reference  flow (b), the same client code, against a minimal in-process mediasoup signaling server
 *       (./sfu-baseline.ts: one process, one worker, no separate media node, no tokens, no validation),
 *       started next to the stack: what the hop to a separate media node, and everything else the edge
 *       does, may cost at most. Its room has a publisher too (audio `produce`, fixed SSRC, no RTP sent, like
 *       the stack's host, which sends none either). `--no-reference` skips it.
 *
 * Each case runs N sequential joins (each participant leaves before the next joins, so the room stays at
 * 2 participants; (b), (c) and the reference take turns, so that all three see the same machine) and M
 * concurrent joins (all opened at once into one room and left connected).
 *
 * `--control`: how the edge's control calls reach the media node (TREFFPUNKT_NODE_CONTROL, issue 14):
 * `http` (a signed HTTP request per call), `link` (over the node link), or a list run one after the
 * other in the same run, each on a fresh stack (default `http,link`), then printed next to each other. The
 * edge's own count of calls by way (treffpunkt_edge_node_calls_total{via}) shows that they went that way.
 *
 *   node test/bench/join.ts [--sequential 200] [--concurrent 50] [--warmup 10] [--workers 1] [--control http,link]
 *                        [--no-reference]
 *
 * Prints tables, then one line `BENCH_JSON {...}` with every number. See docs/benchmarks.md.
 *
 * Timed requests use the small event-driven client in ./support.ts, not test/support/signaling-client.ts,
 * whose replies are found by polling every 10 ms (fine for tests, too coarse for millisecond figures).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { waitFor } from '../support/poll.ts';
import { freePortBlock, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { opusPayloadType, publishAudio } from '../support/werift-peer.ts';
import { startSfuBaseline, type SfuBaseline } from './sfu-baseline.ts';
import {
  BenchClient,
  childPids,
  comm,
  fmt,
  joinFlow,
  latencyTable,
  lpad,
  machineInfo,
  pad,
  positiveInt,
  runBenchmark,
  summarize,
  vmRssKiB,
  type JoinSample,
  type Summary,
} from './support.ts';

const WATCHDOG_MS = 10 * 60_000;

const { values: args } = parseArgs({
  options: {
    sequential: { type: 'string', default: '200' },
    concurrent: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1' },
    control: { type: 'string', default: 'http,link' },
    reference: { type: 'boolean', default: true },
  },
  strict: true,
  allowNegative: true,
});
const REFERENCE = args.reference;
const SEQUENTIAL = positiveInt('sequential', args.sequential, 1);
const CONCURRENT = positiveInt('concurrent', args.concurrent, 1);
const WARMUP = positiveInt('warmup', args.warmup, 0);
const WORKERS = positiveInt('workers', args.workers, 1);
type Control = 'http' | 'link';
const CONTROLS = args.control.split(',').map((c) => {
  if (c !== 'http' && c !== 'link') throw new Error(`--control takes http, link or a list of them, got "${c}"`);
  return c as Control;
});

// ---------------------------------------------------------------------------------------------------
// The two flows.

const fakeDtls = () => ({
  role: 'client' as const,
  fingerprints: [
    {
      algorithm: 'sha-256',
      value: [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
    },
  ],
});

const opusCaps = (pt: number) => ({
  codecs: [
    {
      kind: 'audio' as const,
      mimeType: 'audio/opus',
      preferredPayloadType: pt,
      clockRate: 48000,
      channels: 2,
      rtcpFeedback: [],
    },
  ],
  headerExtensions: [],
});

interface ConsumeSample extends JoinSample {
  /** open → the consumer runs: the resumeConsumer reply, or (c) the consume reply of a running consumer. */
  ready: number;
  /** Each request's time, by method: (b) join, createTransport, connectTransport, consume, resumeConsumer; (c) without the two transport steps. */
  steps: Record<string, number>;
}

/** (b), or (c) with `withJoin`: the transport made and connected by the join. */
async function consumeFlow(
  url: string,
  expectProducerId: string,
  withJoin = false,
): Promise<{ client: BenchClient; sample: ConsumeSample }> {
  const client = await BenchClient.open(url);
  const t0 = client.openedAt;
  const joinReply = await client.join(withJoin ? { transports: ['recv'], dtlsParameters: fakeDtls() } : undefined);
  const t1 = performance.now();
  // Like a real client, find the producer to consume in the join reply.
  const producerId = joinReply.participants.flatMap((p) => p.producers).find((p) => p.kind === 'audio')?.id;
  if (producerId !== expectProducerId)
    throw new Error(`join reply lists producer ${producerId}, expected ${expectProducerId}`);
  const pt = opusPayloadType(joinReply.routerRtpCapabilities);
  const made = joinReply.transports?.recv;
  if (withJoin && !made?.connected) throw new Error('the join did not make and connect the transport');
  const transport = made ?? (await client.request('createTransport', { direction: 'recv' }));
  const t2 = performance.now();
  if (!made) await client.request('connectTransport', { transportId: transport.id, dtlsParameters: fakeDtls() });
  const t3 = performance.now();
  // (c) asks for a consumer that runs at once, as the app does for a microphone: no resumeConsumer then.
  const consumer = await client.request('consume', {
    transportId: transport.id,
    producerId,
    rtpCapabilities: opusCaps(pt),
    ...(withJoin ? { paused: false } : {}),
  });
  const t4 = performance.now();
  const running = consumer.paused === false;
  if (!running) await client.request('resumeConsumer', { consumerId: consumer.consumerId });
  const t5 = performance.now();
  return {
    client,
    sample: {
      connect: t0 - client.createdAt,
      joined: t1 - t0,
      ready: t5 - t0,
      steps: {
        join: t1 - t0,
        ...(withJoin ? {} : { createTransport: t2 - t1, connectTransport: t3 - t2 }),
        consume: t4 - t3,
        ...(running ? {} : { resumeConsumer: t5 - t4 }),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// RSS of the stack's processes.

interface RssSnapshot {
  edgeMiB: number;
  mediaNodeMiB: number;
  workersMiB: number;
  workers: number;
  mediaTotalMiB: number;
}

function rss(stack: Stack): RssSnapshot {
  const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
  const workerPids = childPids(stack.mediaNode.pid!).filter((c) => comm(c).startsWith('mediasoup'));
  const edge = vmRssKiB(stack.edgePid()!);
  const node = vmRssKiB(stack.mediaNode.pid!);
  const workers = workerPids.reduce((n, p) => n + vmRssKiB(p), 0);
  return {
    edgeMiB: mib(edge),
    mediaNodeMiB: mib(node),
    workersMiB: mib(workers),
    workers: workerPids.length,
    mediaTotalMiB: mib(node + workers),
  };
}

/** Samples RSS every `ms` and keeps each column's peak. */
function rssSampler(stack: Stack, ms: number) {
  const peak: RssSnapshot = { edgeMiB: 0, mediaNodeMiB: 0, workersMiB: 0, workers: 0, mediaTotalMiB: 0 };
  let samples = 0;
  const take = () => {
    const s = rss(stack);
    samples++;
    for (const k of Object.keys(peak) as (keyof RssSnapshot)[]) peak[k] = Math.max(peak[k], s[k]);
  };
  take();
  const timer = setInterval(take, ms);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { peak, samples };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Output.

function rssTable(rows: [string, RssSnapshot][]): string {
  const w = Math.max(...rows.map(([l]) => l.length));
  const head = `${pad('RSS, MiB', w)}  ${lpad('edge', 8)}${lpad('node', 8)}${lpad('workers', 10)}${lpad('node+wk', 9)}`;
  const lines = rows.map(
    ([l, s]) =>
      `${pad(l, w)}  ${lpad(s.edgeMiB.toFixed(1), 8)}${lpad(s.mediaNodeMiB.toFixed(1), 8)}${lpad(`${s.workersMiB.toFixed(1)} (${s.workers})`, 10)}${lpad(s.mediaTotalMiB.toFixed(1), 9)}`,
  );
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The run.

async function setUpRoom(stack: Stack, room: string) {
  const host = await SignalingClient.connect(stack.wsUrl(room));
  const joined = await host.join('Host');
  const pub = await publishAudio(host, opusPayloadType(joined.routerRtpCapabilities));
  return { room, url: stack.wsUrl(room), host, pub };
}

/**
 * A reference room (./sfu-baseline.ts) with a host that publishes an Opus producer: the same `produce` as
 * the stack's werift host (its SSRC, one Opus codec); its transport has no ICE/DTLS, and neither sends RTP.
 */
async function setUpReferenceRoom(reference: SfuBaseline, room: string) {
  const url = reference.url(room);
  const host = await BenchClient.open(url);
  const joined = await host.join();
  const pt = opusPayloadType(joined.routerRtpCapabilities);
  const transport = await host.request('createTransport', { direction: 'send' });
  await host.request('connectTransport', { transportId: transport.id, dtlsParameters: fakeDtls() });
  const { producerId } = await host.request('produce', {
    transportId: transport.id,
    kind: 'audio',
    source: 'microphone',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: pt }],
      encodings: [{ ssrc: 0x7eff0000 + Math.floor(Math.random() * 0xffff) }],
    },
  });
  return { url, host, producerId };
}

/** treffpunkt_edge_node_calls_total summed by `via` (link, http). */
async function callsByVia(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const by: Record<string, number> = {};
  for (const m of text.matchAll(/^treffpunkt_edge_node_calls_total\{[^}]*via="([^"]+)"[^}]*\} (\d+)/gm))
    by[m[1]!] = (by[m[1]!] ?? 0) + Number(m[2]);
  return by;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<void> {
  const runs: { control: Control; results: Results; text: string }[] = [];
  for (const control of CONTROLS) runs.push({ control, ...(await measure(control)) });
  for (const run of runs) process.stdout.write(`${run.text}\n`);
  if (runs.length > 1) process.stdout.write(`${comparisonTable(runs)}\n\n`);
  const json = runs.length === 1 ? runs[0]!.results : { benchmark: 'join', runs: runs.map((r) => r.results) };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
}

type Results = Awaited<ReturnType<typeof measure>>['results'];

/** p50 and p95 of the main figures, one column per way. */
function comparisonTable(runs: { control: Control; results: Results }[]) {
  const steps = ['createTransport', 'connectTransport', 'consume', 'resumeConsumer'] as const;
  const rows: [string, (r: Results) => Summary | undefined][] = [
    ['sequential (b) consumer ready', (r) => r.sequential.consumerReadyMs],
    ...steps.map((k): [string, (r: Results) => Summary] => [`  step ${k}`, (r) => r.sequential.consumerSteps[k]!]),
    ['sequential (b) in-process mediasoup (ref.)', (r) => r.reference?.sequential.consumerReadyMs],
    ['sequential (c) transport with join', (r) => r.sequential.withJoinReadyMs],
    ['sequential (a) joined', (r) => r.sequential.joinedMs],
    ['sequential ping baseline', (r) => r.sequential.pingMs],
    ['concurrent (b) consumer ready', (r) => r.concurrent.consumerReadyMs],
    ...steps.map((k): [string, (r: Results) => Summary] => [`  step ${k}`, (r) => r.concurrent.consumerSteps[k]!]),
    ['concurrent (b) in-process mediasoup (ref.)', (r) => r.reference?.concurrent.consumerReadyMs],
    ['concurrent (c) transport with join', (r) => r.concurrent.withJoinReadyMs],
    ['concurrent (a) joined', (r) => r.concurrent.joinedMs],
  ];
  const w = Math.max(...rows.map(([l]) => l.length));
  const head = `${pad('p50 / p95, ms', w)}${runs.map((r) => lpad(`${r.control}`, 18)).join('')}`;
  const cell = (s: Summary | undefined) => lpad(s ? `${s.p50.toFixed(2)} / ${s.p95.toFixed(2)}` : '—', 18);
  const lines = rows.map(([label, get]) => `${pad(label, w)}${runs.map((r) => cell(get(r.results))).join('')}`);
  const counted = `${pad('control calls counted (link/http)', w)}${runs
    .map((r) => lpad(`${r.results.callsByVia.link ?? 0}/${r.results.callsByVia.http ?? 0}`, 18))
    .join('')}`;
  return [
    '',
    'Control calls: HTTP vs the node link (same run, a fresh stack each; the reference measured next to each)',
    head,
    '-'.repeat(head.length),
    ...lines,
    counted,
  ].join('\n');
}

async function measure(control: Control) {
  const startedAt = new Date().toISOString();
  log(`starting the stack (${WORKERS} mediasoup worker${WORKERS > 1 ? 's' : ''}, control calls over ${control}) …`);
  const metricsPort = await freePortBlock(1);
  // The per-connection message limit (50/s by default) would refuse the back-to-back baseline pings:
  // raised, as stack.ts raises the per-address connection limit. The token bucket still runs.
  const stack = await startStack({
    workers: WORKERS,
    edgeEnv: {
      TREFFPUNKT_MESSAGES_PER_SECOND: '10000',
      TREFFPUNKT_NODE_CONTROL: control,
      TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
    },
  });
  activeStack = stack;
  // Link: measured once the node's link is up (it comes a moment after the registration).
  if (control === 'link')
    await waitFor('the node link', () => /node link to the edge open/.test(stack.output()), 10_000, 20);
  const clients: BenchClient[] = [];
  const rooms: Awaited<ReturnType<typeof setUpRoom>>[] = [];
  const referenceRooms: Awaited<ReturnType<typeof setUpReferenceRoom>>[] = [];
  let sampler: ReturnType<typeof rssSampler> | undefined;
  let reference: SfuBaseline | undefined;
  try {
    if (REFERENCE) {
      log('starting the reference: an in-process mediasoup signaling server (sfu-baseline.ts) …');
      reference = await startSfuBaseline();
      for (const name of ['ref-seq-consume', 'ref-conc-consume'])
        referenceRooms.push(await setUpReferenceRoom(reference, name));
    }
    const [refSeq, refConc] = referenceRooms;
    const idle = rss(stack);
    sampler = rssSampler(stack, 100);

    // One room per case, each with a host that already publishes Opus through a real werift peer.
    log('setting up rooms with a publishing host …');
    for (const name of [
      'bench-seq-join',
      'bench-seq-consume',
      'bench-conc-join',
      'bench-conc-consume',
      'bench-conc-consume-with-join',
    ])
      rooms.push(await setUpRoom(stack, name));
    const [seqJoin, seqConsume, concJoin, concConsume, concWithJoin] = rooms as [
      (typeof rooms)[0],
      (typeof rooms)[0],
      (typeof rooms)[0],
      (typeof rooms)[0],
      (typeof rooms)[0],
    ];
    const ready = rss(stack);

    // Warm-up (not measured): JIT and connection pools on both processes.
    for (let i = 0; i < WARMUP; i++) {
      const { client } = await consumeFlow(seqConsume.url, seqConsume.pub.producerId);
      await client.leave();
      await (await consumeFlow(seqConsume.url, seqConsume.pub.producerId, true)).client.leave();
      const j = await joinFlow(seqJoin.url);
      await j.client.leave();
      if (refSeq) await (await consumeFlow(refSeq.url, refSeq.producerId)).client.leave();
    }

    // Baseline, sequential: ping round trips on one open, joined socket.
    log(`baseline: ${SEQUENTIAL} sequential pings …`);
    const pinger = (await joinFlow(seqJoin.url)).client;
    clients.push(pinger);
    const pingSeq: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t = performance.now();
      await pinger.request('ping', {});
      pingSeq.push(performance.now() - t);
    }

    // (a) sequential: open → join reply, then leave.
    log(`(a) ${SEQUENTIAL} sequential joins …`);
    const aSeq: JoinSample[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const { client, sample } = await joinFlow(seqJoin.url);
      aSeq.push(sample);
      await client.leave();
    }

    // (b) sequential: open → consumer resumed, then leave. (c) and the reference take turns with (b), so
    // that all see the same machine.
    log(`(b), (c)${refSeq ? ' and the reference' : ''}: ${SEQUENTIAL} sequential joins each to a first consumer …`);
    const bSeq: ConsumeSample[] = [];
    const cSeq: ConsumeSample[] = [];
    const refBSeq: ConsumeSample[] = [];
    const turns: [string, string, boolean, ConsumeSample[]][] = [
      [seqConsume.url, seqConsume.pub.producerId, false, bSeq],
      [seqConsume.url, seqConsume.pub.producerId, true, cSeq],
      ...(refSeq
        ? [[refSeq.url, refSeq.producerId, false, refBSeq] as [string, string, boolean, ConsumeSample[]]]
        : []),
    ];
    for (let i = 0; i < SEQUENTIAL; i++) {
      for (const [url, producerId, withJoin, into] of turns) {
        const { client, sample } = await consumeFlow(url, producerId, withJoin);
        into.push(sample);
        await client.leave();
      }
    }
    const afterSequential = rss(stack);

    // (a) concurrent: all open at once into one room, and stay.
    log(`(a) ${CONCURRENT} concurrent joins …`);
    const aConcRes = await Promise.all(Array.from({ length: CONCURRENT }, () => joinFlow(concJoin.url)));
    clients.push(...aConcRes.map((r) => r.client));
    const aConc = aConcRes.map((r) => r.sample);

    // Baseline, concurrent: one ping from each of those open sockets, all at once.
    log(`baseline: ${CONCURRENT} concurrent pings …`);
    const pingConc = await Promise.all(
      aConcRes.map(async ({ client }) => {
        const t = performance.now();
        await client.request('ping', {});
        return performance.now() - t;
      }),
    );

    // (b) concurrent.
    log(`(b) ${CONCURRENT} concurrent joins to a first consumer …`);
    const bConcRes = await Promise.all(
      Array.from({ length: CONCURRENT }, () => consumeFlow(concConsume.url, concConsume.pub.producerId)),
    );
    clients.push(...bConcRes.map((r) => r.client));
    const bConc = bConcRes.map((r) => r.sample);

    // (c) concurrent, into a room of its own (like (b)'s: a host and nobody else).
    log(`(c) ${CONCURRENT} concurrent joins to a first consumer, transports made with the join …`);
    const cConcRes = await Promise.all(
      Array.from({ length: CONCURRENT }, () => consumeFlow(concWithJoin.url, concWithJoin.pub.producerId, true)),
    );
    clients.push(...cConcRes.map((r) => r.client));
    const cConc = cConcRes.map((r) => r.sample);

    // The reference (b) concurrent, into its own room with a publishing host; they stay connected too.
    let refBConc: ConsumeSample[] = [];
    let refBurst = 0;
    if (refConc) {
      log(`reference: ${CONCURRENT} concurrent joins to a first consumer, in-process mediasoup …`);
      const res = await Promise.all(
        Array.from({ length: CONCURRENT }, () => consumeFlow(refConc.url, refConc.producerId)),
      );
      clients.push(...res.map((r) => r.client));
      refBConc = res.map((r) => r.sample);
      refBurst = burstMs(res);
    }

    // Let the processes settle with everyone still connected, then read RSS.
    await new Promise((r) => setTimeout(r, 1000));
    const connected = rss(stack);
    const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
    const referenceRss = reference && {
      processMiB: mib(vmRssKiB(reference.pid)),
      workerMiB: mib(vmRssKiB(reference.workerPid)),
    };
    const { peak, samples } = sampler.stop();
    sampler = undefined;

    const byVia = await callsByVia(metricsPort);
    if ((byVia[control === 'link' ? 'http' : 'link'] ?? 0) > 0)
      throw new Error(`control calls went the other way: ${JSON.stringify(byVia)}`);
    const results = {
      benchmark: 'join',
      startedAt,
      machine: machineInfo(),
      config: { sequential: SEQUENTIAL, concurrent: CONCURRENT, warmup: WARMUP, workers: WORKERS, control },
      callsByVia: byVia,
      sequential: {
        pingMs: summarize(pingSeq),
        connectMs: summarize([...aSeq, ...bSeq].map((s) => s.connect)),
        joinedMs: summarize(aSeq.map((s) => s.joined)),
        consumerReadyMs: summarize(bSeq.map((s) => s.ready)),
        consumerSteps: stepSummaries(bSeq),
        withJoinReadyMs: summarize(cSeq.map((s) => s.ready)),
        withJoinSteps: stepSummaries(cSeq),
      },
      concurrent: {
        pingMs: summarize(pingConc),
        connectMs: summarize([...aConc, ...bConc].map((s) => s.connect)),
        joinedMs: summarize(aConc.map((s) => s.joined)),
        consumerReadyMs: summarize(bConc.map((s) => s.ready)),
        consumerSteps: stepSummaries(bConc),
        withJoinReadyMs: summarize(cConc.map((s) => s.ready)),
        withJoinSteps: stepSummaries(cConc),
        /** First `new WebSocket` → last consumer ready, over the whole burst: does not reward staggered opens. */
        burstMs: { consumerReady: burstMs(bConcRes), withJoinReady: burstMs(cConcRes) },
      },
      rssMiB: { idle, ready, afterSequential, connected, peak, peakSamples: samples },
      /** Flow (b) against the in-process mediasoup server (sfu-baseline.ts); null with --no-reference. */
      reference: referenceRss
        ? {
            what: 'in-process mediasoup signaling server (test/bench/sfu-baseline.ts), flow (b)',
            sequential: {
              connectMs: summarize(refBSeq.map((s) => s.connect)),
              consumerReadyMs: summarize(refBSeq.map((s) => s.ready)),
              consumerSteps: stepSummaries(refBSeq),
            },
            concurrent: {
              connectMs: summarize(refBConc.map((s) => s.connect)),
              consumerReadyMs: summarize(refBConc.map((s) => s.ready)),
              consumerSteps: stepSummaries(refBConc),
              burstMs: { consumerReady: refBurst },
            },
            rssMiB: { ...referenceRss, concurrentConsumersConnected: CONCURRENT },
          }
        : null,
    };

    const out: string[] = [];
    out.push('', `Treffpunkt join benchmark — ${startedAt} — control calls over ${control}`);
    out.push(
      `${results.machine.cpus} CPUs (${results.machine.cpuModel}), ${results.machine.memGiB} GiB, Node ${process.version}, ${WORKERS} mediasoup worker(s), loopback`,
    );
    out.push(
      `sequential: ${SEQUENTIAL} (each leaves before the next joins) · concurrent: ${CONCURRENT} (all at once into one room, stay connected) · warm-up: ${WARMUP}`,
    );
    for (const mode of ['sequential', 'concurrent'] as const) {
      const r = results[mode];
      const ref = results.reference?.[mode];
      const n = mode === 'sequential' ? SEQUENTIAL : CONCURRENT;
      out.push('', `${mode === 'sequential' ? 'Sequential' : 'Concurrent'}, ${n} joins`);
      out.push(
        latencyTable([
          ['(a) open → joined', r.joinedMs],
          ['(b) open → consumer ready', r.consumerReadyMs],
          ['(c) the same, transport with join', r.withJoinReadyMs],
          ...(ref ? [['(b) in-process mediasoup (reference)', ref.consumerReadyMs] as [string, Summary]] : []),
          ['baseline: ping round trip', r.pingMs],
          ['context: new WebSocket → open', r.connectMs],
          ...(ref ? [['context: the same, reference', ref.connectMs] as [string, Summary]] : []),
        ]),
      );
      if (mode === 'concurrent') {
        const b = results.concurrent.burstMs;
        const refBurst = results.reference
          ? `, reference ${fmt(results.reference.concurrent.burstMs.consumerReady)}`
          : '';
        out.push(
          `burst, first new WebSocket → last consumer ready, ms: (b) ${fmt(b.consumerReady)}, (c) ${fmt(b.withJoinReady)}${refBurst}`,
        );
      }
      if (ref)
        out.push(
          `(b) − reference: p50 ${fmtMs(r.consumerReadyMs.p50 - ref.consumerReadyMs.p50)}, p95 ${fmtMs(r.consumerReadyMs.p95 - ref.consumerReadyMs.p95)}; (c) − reference: p50 ${fmtMs(r.withJoinReadyMs.p50 - ref.consumerReadyMs.p50)}, p95 ${fmtMs(r.withJoinReadyMs.p95 - ref.consumerReadyMs.p95)}`,
        );
      out.push('', `(b) by step (${mode})`);
      out.push(stepTable(r.consumerSteps, ref?.consumerSteps));
      out.push('', `(c) by step (${mode})`);
      out.push(latencyTable(Object.entries(r.withJoinSteps)));
    }
    out.push(
      '',
      rssTable([
        ['idle (stack started)', idle],
        ['ready (5 rooms, 5 publishing hosts)', ready],
        [`after ${2 * SEQUENTIAL} sequential join+leave`, afterSequential],
        [`${2 * CONCURRENT} concurrent participants connected`, connected],
        [`peak (${samples} samples every 100 ms)`, peak],
      ]),
    );
    out.push(
      '(node = media node process, workers = its mediasoup-worker children (count), node+wk = their sum sampled together)',
      `control calls counted by the edge: ${JSON.stringify(byVia)}`,
    );
    if (referenceRss)
      out.push(
        `reference (in-process mediasoup), RSS at the end (${CONCURRENT} concurrent consumers connected): process ${referenceRss.processMiB.toFixed(1)} MiB, worker ${referenceRss.workerMiB.toFixed(1)} MiB`,
      );
    return { results, text: out.join('\n') };
  } finally {
    sampler?.stop();
    await Promise.all(clients.map((c) => c.close()));
    for (const r of rooms) {
      await r.pub.pc.close();
      await r.host.close();
    }
    for (const r of referenceRooms) await r.host.close();
    await reference?.stop();
    await stack.stop();
    activeStack = undefined;
  }
}

/** A concurrent burst's wall-clock time: first `new WebSocket` → last consumer ready. */
function burstMs(res: { client: BenchClient; sample: ConsumeSample }[]): number {
  const start = Math.min(...res.map((r) => r.client.createdAt));
  return Math.round((Math.max(...res.map((r) => r.client.openedAt + r.sample.ready)) - start) * 1000) / 1000;
}

const fmtMs = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} ms`;

/** (b)'s steps, each followed by the reference's same step when there is one. */
function stepTable(steps: Record<string, Summary>, reference?: Record<string, Summary>): string {
  return latencyTable(
    Object.entries(steps).flatMap(([k, s]): [string, Summary][] =>
      reference?.[k]
        ? [
            [k, s],
            [`  ${k}, reference`, reference[k]],
          ]
        : [[k, s]],
    ),
  );
}

function stepSummaries(samples: ConsumeSample[]): Record<string, Summary> {
  const keys = Object.keys(samples[0]?.steps ?? {});
  return Object.fromEntries(keys.map((k) => [k, summarize(samples.map((s) => s.steps[k]!))]));
}

/** The running stack, so that the watchdog and Ctrl-C never leave the edge or media node behind. */
let activeStack: Stack | undefined;
runBenchmark('join', WATCHDOG_MS, () => activeStack, main);
