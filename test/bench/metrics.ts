/**
 * Cost of metrics, measured, not asserted (docs/benchmarks.md). Two real stacks in one run — one
 * without metrics (TREFFPUNKT_METRICS_ADDR unset: nothing is counted), one with metrics on the edge and
 * the media node — each with a room whose host publishes real Opus (werift + ffmpeg) to a receiver.
 *
 *   1. join latency (WebSocket open → join reply), the two stacks interleaved join by join, so that the
 *      machine's load falls on both alike;
 *   2. the same while a scraper reads both /metrics endpoints of the metrics stack every 200 ms;
 *   3. the scrapes themselves: edge and media node /metrics latency and size, each media node scrape
 *      taking a fresh getStats() sample (interval 1000 ms, scrapes 1100 ms apart).
 *
 *   node test/bench/metrics.ts [--joins 150] [--scrapes 20]
 *
 * Prints a table, then `BENCH_JSON {...}`.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { freeTcpPort } from '../support/webhook-receiver.ts';
import { waitFor } from '../support/poll.ts';
import { joinFlow, latencyTable, machineInfo, positiveInt, runBenchmark, summarize } from './support.ts';

const { values: args } = parseArgs({
  options: { joins: { type: 'string', default: '150' }, scrapes: { type: 'string', default: '20' } },
  strict: true,
});
const JOINS = positiveInt('joins', args.joins, 1);
const SCRAPES = positiveInt('scrapes', args.scrapes, 1);
const stacks: Stack[] = [];

async function meeting(stack: Stack, room: string, stop: AbortSignal) {
  const host = await SignalingClient.connect(stack.wsUrl(room));
  const hostJoin = await host.join('Host');
  const pt = opusPayloadType(hostJoin.routerRtpCapabilities);
  const pub = await publishAudio(host, pt);
  const viewer = await SignalingClient.connect(stack.wsUrl(room));
  await viewer.join('Viewer');
  const sub = await receiveAudio(viewer, pt, pub.producerId);
  const sending = ffmpegOpus(pt, 3600, pub.writeRtp, stop);
  await waitFor('media through the SFU', () => sub.received.packets > 20, 20_000);
  return {
    url: stack.wsUrl(room),
    close: async () => Promise.all([sending.catch(() => {}), pub.pc.close(), sub.pc.close()]),
  };
}

async function timedFetch(url: string): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const body = await (await fetch(url)).text();
  return { ms: performance.now() - t, bytes: body.length };
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const [edgePort, nodePort] = [await freeTcpPort(), await freeTcpPort()];
  const edgeMetrics = `http://127.0.0.1:${edgePort}/metrics`;
  const nodeMetrics = `http://127.0.0.1:${nodePort}/metrics`;
  log('starting two stacks (without and with metrics) …');
  const env = { TREFFPUNKT_MESSAGES_PER_SECOND: '10000' };
  const plain = await startStack({ edgeEnv: env });
  stacks.push(plain);
  const metered = await startStack({
    edgeEnv: { ...env, TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${edgePort}` },
    mediaNodeEnv: { TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${nodePort}`, TREFFPUNKT_METRICS_STATS_INTERVAL_MS: '1000' },
  });
  stacks.push(metered);
  const stop = new AbortController();
  try {
    const [a, b] = [
      await meeting(plain, 'bench-metrics', stop.signal),
      await meeting(metered, 'bench-metrics', stop.signal),
    ];
    const interleaved = async (n: number) => {
      const off: number[] = [];
      const on: number[] = [];
      for (let i = 0; i < n; i++) {
        for (const [url, into] of [
          [a.url, off],
          [b.url, on],
        ] as const) {
          const { client, sample } = await joinFlow(url);
          into.push(sample.joined);
          await client.leave();
        }
      }
      return { off, on };
    };
    await interleaved(10); // warm-up
    log(`1. ${JOINS} joins on each stack, interleaved …`);
    const quiet = await interleaved(JOINS);

    log(`2. the same with a scraper every 200 ms …`);
    let scraping = true;
    let scrapes = 0;
    const scraper = (async () => {
      while (scraping) {
        await Promise.all([fetch(edgeMetrics).then((r) => r.text()), fetch(nodeMetrics).then((r) => r.text())]);
        scrapes++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const busy = await interleaved(JOINS);
    scraping = false;
    await scraper;

    log(`3. ${SCRAPES} scrapes of each, 1100 ms apart …`);
    const edgeScrapes: { ms: number; bytes: number }[] = [];
    const nodeScrapes: { ms: number; bytes: number }[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      edgeScrapes.push(await timedFetch(edgeMetrics));
      nodeScrapes.push(await timedFetch(nodeMetrics));
    }
    const results = {
      machine: machineInfo(),
      joins: JOINS,
      join: {
        withoutMetrics: summarize(quiet.off),
        withMetrics: summarize(quiet.on),
        withoutMetricsWhileScraping: summarize(busy.off),
        withMetricsWhileScraping: summarize(busy.on),
      },
      scrapesDuringPhase2: scrapes,
      scrape: {
        edge: { ...summarize(edgeScrapes.map((s) => s.ms)), bytes: edgeScrapes.at(-1)!.bytes },
        mediaNode: { ...summarize(nodeScrapes.map((s) => s.ms)), bytes: nodeScrapes.at(-1)!.bytes },
      },
    };
    process.stdout.write(
      `${latencyTable([
        ['join, no metrics', results.join.withoutMetrics],
        ['join, metrics', results.join.withMetrics],
        ['join, no metrics (2)', results.join.withoutMetricsWhileScraping],
        ['join, metrics + scraper', results.join.withMetricsWhileScraping],
        ['scrape edge', results.scrape.edge],
        ['scrape media node', results.scrape.mediaNode],
      ])}\n`,
    );
    process.stdout.write(
      `scrape sizes: edge ${results.scrape.edge.bytes} B, media node ${results.scrape.mediaNode.bytes} B; ${scrapes} scrapes in phase 2\n`,
    );
    process.stdout.write(`BENCH_JSON ${JSON.stringify(results)}\n`);
    stop.abort();
    await Promise.all([a.close(), b.close()]);
  } finally {
    stop.abort();
    await Promise.all(stacks.map((s) => s.stop()));
  }
}

runBenchmark('metrics', 10 * 60_000, () => stacks[0], main);
