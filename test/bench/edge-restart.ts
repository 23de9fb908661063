/**
 * Edge restart benchmark: measured, not asserted. A lone Node edge and one media node on loopback; each
 * run stops the edge and starts it again at once on the same port (what `systemctl restart` does) and
 * measures from the signal:
 *
 *   - werift, state file (TREFFPUNKT_STATE_FILE), kill -9 and SIGTERM: three participants (one sends
 *     Opus from ffmpeg, two receive). Edge up again; every participant resumed (all three `resume`s
 *     answered, sent as soon as the edge answers); the longest gap between two RTP packets at any
 *     receiver during the whole restart (media nodes are untouched, so this is the media gap, if any).
 *   - Chromium, state file, kill -9: two pages (360p camera, microphone); every page resumed by itself
 *     (its reconnect backoff included: data-resumes), and whether video kept decoding meanwhile.
 *   - Chromium, TREFFPUNKT_STATE_FILE=:memory:, kill -9: the edge forgot everyone; every page rejoined
 *     by itself (data-rejoins) and every page decodes the other's video again.
 *
 *   node test/bench/edge-restart.ts [--runs 5] [--browser-runs 3]
 *
 * Prints a table, then one line `BENCH_JSON {...}`. See docs/benchmarks.md ("Edge restart").
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { framesFrom, joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { machineInfo, positiveInt, runBenchmark, summarize } from './support.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'browser-runs': { type: 'string', default: '3' } },
});
const runs = positiveInt('runs', values.runs, 1);
const browserRuns = positiveInt('browser-runs', values['browser-runs'], 0);
const EDGE_ENV = { TREFFPUNKT_RESUME_GRACE_MS: '60000' };

let active: Stack | undefined;
const results: Record<string, number[]> = {};
const record = (key: string, ms: number) => (results[key] ??= []).push(Math.round(ms));

/** Resolves once the media node is registered with the (restarted) edge: before it, joins get NO_MEDIA_NODE. */
async function nodeRegistered(stack: Stack): Promise<void> {
  await waitFor(
    'the media node to register again',
    async () => ((await (await fetch(`${stack.edgeUrl}/healthz`)).json()) as { mediaNodes: number }).mediaNodes > 0,
    30_000,
    20,
  );
}

/** Stops the edge with `signal` and starts it again at once; returns the times (ms from the signal). */
async function restart(stack: Stack, signal: 'SIGKILL' | 'SIGTERM') {
  const t0 = performance.now();
  await stack.stopEdge(signal);
  const exitedMs = performance.now() - t0;
  await stack.startEdge();
  return { t0, exitedMs, upMs: performance.now() - t0 };
}

async function weriftRuns(stack: Stack, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const name = signal === 'SIGKILL' ? 'kill' : 'sigterm';
  for (let run = 0; run < runs; run++) {
    const room = `bench-${name}-${run}-${Date.now()}`;
    const people = [];
    for (const who of ['Alice', 'Bob', 'Carol']) {
      const client = await SignalingClient.connect(stack.wsUrl(room));
      people.push({ client, joined: await client.join(who) });
    }
    const pt = opusPayloadType(people[0]!.joined.routerRtpCapabilities);
    const pub = await publishAudio(people[0]!.client, pt);
    const subs = [
      await receiveAudio(people[1]!.client, pt, pub.producerId),
      await receiveAudio(people[2]!.client, pt, pub.producerId),
    ];
    const stop = new AbortController();
    const media = ffmpegOpus(pt, 600, pub.writeRtp, stop.signal);
    await waitFor('media', () => subs.every((s) => s.received.packets > 25), 15_000);
    for (const s of subs) s.received.maxGapMs = 0;
    const { t0, exitedMs, upMs } = await restart(stack, signal);
    const resumed = await Promise.all(
      people.map(async ({ joined }) => {
        const client = await SignalingClient.connect(stack.wsUrl(room));
        await client.request('resume', {
          protocolVersion: 1,
          participantId: joined.participantId,
          resumeToken: joined.resumeToken,
        });
        return { client, at: performance.now() - t0 };
      }),
    );
    await nodeRegistered(stack);
    record(`${name}.nodeBack`, performance.now() - t0);
    // RTP a while after the last resume, so that a late stop would show as a gap.
    const after = subs.map((s) => s.received.packets);
    await waitFor('RTP after the resumes', () => subs.every((s, i) => s.received.packets > after[i]! + 50), 15_000);
    if (signal === 'SIGTERM') record(`${name}.exited`, exitedMs);
    record(`${name}.up`, upMs);
    record(`${name}.resumed`, Math.max(...resumed.map((r) => r.at)));
    record(`${name}.rtpGap`, Math.max(...subs.map((s) => s.received.maxGapMs)));
    console.error(`${name} run ${run + 1}/${runs}: up ${Math.round(upMs)} ms`);
    stop.abort();
    await media;
    await Promise.all([pub.pc.close(), ...subs.map((s) => s.pc.close()), ...resumed.map((r) => r.client.close())]);
  }
}

const attr = (p: Page, name: string) => p.getAttribute('.meeting', name);

async function pageRuns(stack: Stack, mode: 'resume' | 'rejoin'): Promise<void> {
  const chromium = await launchChromium();
  try {
    for (let run = 0; run < browserRuns; run++) {
      const room = `bench-${mode}-${run}-${Date.now()}`;
      const pages = [await chromium.newPage(), await chromium.newPage()];
      await joinMeeting(pages[0]!, stack.edgeUrl, room, 'Ada');
      await joinMeeting(pages[1]!, stack.edgeUrl, room, 'Ben');
      const ids = await Promise.all(pages.map(participantId));
      const decodes = async (ps: string[]) =>
        (await framesFrom(pages[0]!, ps[1]!)) > 0 && (await framesFrom(pages[1]!, ps[0]!)) > 0;
      await waitFor('both pages to decode each other', () => decodes(ids), 60_000, 100);
      const framesBefore = [await framesFrom(pages[1]!, ids[0]!), await framesFrom(pages[0]!, ids[1]!)];
      const { t0, upMs } = await restart(stack, 'SIGKILL');
      const counter = mode === 'resume' ? 'data-resumes' : 'data-rejoins';
      await waitFor(
        `every page to ${mode}`,
        async () => (await Promise.all(pages.map((p) => attr(p, counter)))).every((v) => v === '1'),
        60_000,
        20,
      );
      const doneMs = performance.now() - t0;
      await nodeRegistered(stack);
      record(`${mode}.up`, upMs);
      record(`${mode}.done`, doneMs);
      if (mode === 'rejoin') {
        const fresh = await Promise.all(pages.map(participantId));
        await waitFor('both pages to decode each other again', () => decodes(fresh), 60_000, 50);
        record('rejoin.decoding', performance.now() - t0);
      } else {
        // Video never went through the edge: the same consumers kept decoding meanwhile.
        const framesNow = [await framesFrom(pages[1]!, ids[0]!), await framesFrom(pages[0]!, ids[1]!)];
        record('resume.framesDecodedMeanwhile', Math.min(...framesNow.map((f, i) => f - framesBefore[i]!)));
      }
      console.error(`${mode} run ${run + 1}/${browserRuns}: ${Math.round(doneMs)} ms`);
      for (const p of pages) await p.context().close();
    }
  } finally {
    await chromium.close();
  }
}

runBenchmark(
  'edge-restart',
  30 * 60_000,
  () => active,
  async () => {
    console.log(
      `edge restart benchmark: ${runs} werift runs per signal, ${browserRuns} Chromium runs per mode; ${JSON.stringify(machineInfo())}; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    active = await startStack({ edgeEnv: EDGE_ENV });
    try {
      await weriftRuns(active, 'SIGKILL');
      await weriftRuns(active, 'SIGTERM');
      if (browserRuns > 0) await pageRuns(active, 'resume');
    } finally {
      await active.stop();
    }
    if (browserRuns > 0) {
      active = await startStack({ edgeEnv: { ...EDGE_ENV, TREFFPUNKT_STATE_FILE: ':memory:' } });
      try {
        await pageRuns(active, 'rejoin');
      } finally {
        await active.stop();
      }
    }
    const rows: [string, string][] = [
      ['kill.up', 'werift, kill -9 → edge answers again'],
      ['kill.resumed', 'werift, kill -9 → all 3 resumed'],
      ['kill.nodeBack', 'werift, kill -9 → media node registered again'],
      ['kill.rtpGap', 'werift, kill -9: longest RTP gap at a receiver'],
      ['sigterm.exited', 'werift, SIGTERM → edge process exited'],
      ['sigterm.up', 'werift, SIGTERM → edge answers again'],
      ['sigterm.resumed', 'werift, SIGTERM → all 3 resumed'],
      ['sigterm.nodeBack', 'werift, SIGTERM → media node registered again'],
      ['sigterm.rtpGap', 'werift, SIGTERM: longest RTP gap at a receiver'],
      ['resume.done', 'Chromium, state file, kill -9 → both pages resumed'],
      ['resume.framesDecodedMeanwhile', 'Chromium, state file: frames decoded meanwhile (min)'],
      ['rejoin.done', 'Chromium, :memory:, kill -9 → both pages rejoined'],
      ['rejoin.decoding', 'Chromium, :memory:, kill -9 → both decode again'],
    ];
    console.log(`\n${'case (ms from the signal)'.padEnd(56)}   n     p50     max     min`);
    for (const [key, label] of rows) {
      const xs = results[key];
      if (!xs?.length) continue;
      const s = summarize(xs);
      console.log(
        `${label.padEnd(56)} ${String(s.n).padStart(3)} ${String(s.p50).padStart(7)} ${String(s.max).padStart(7)} ${String(s.min).padStart(7)}`,
      );
    }
    console.log(`BENCH_JSON ${JSON.stringify({ machine: machineInfo(), runs, browserRuns, results })}`);
  },
);
