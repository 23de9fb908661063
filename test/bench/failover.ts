/**
 * Failover benchmark: measured, not asserted. Three media nodes (separate processes) and the Node edge on
 * loopback, three Chromium pages (fake camera and microphone, 360p) in one room on node-a. Each run kills
 * or drains the node the room is on and measures, from the signal, the time until every page decodes
 * every other page's video again through the new producers (inbound-rtp framesDecoded > 0 on a consumer of
 * a producer made after the signal; polled every 100 ms).
 *
 *   - kill -9 (N runs): the node is lost when its heartbeats stop (TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS,
 *     given with --timeout; heartbeats and room checks every third of it);
 *   - SIGSTOP (N runs, case `stop`): the node's process frozen, found by its silent node link; its
 *     mediasoup workers go on forwarding (a hung control process). The rooms hand over make-before-break
 *     while the health check runs, which times out;
 *   - SIGSTOP of the node and its mediasoup workers (case `freeze`): a whole machine hung; media stops
 *     at the signal, detection as for `stop`;
 *   - SIGTERM drain (N runs): the node tells the edge at once; the gap is the move itself. For drain,
 *     stop and freeze also the media gap: per page and remote participant's video, the longest interval in which no consumer of
 *     it (the current ones and, during a make-before-break handover, the old ones) decoded a new frame,
 *     sampled in the page every 100 ms from 1 s before the signal until every page decodes again, its
 *     old media is closed and 1 s more;
 *   - baseline, same run: a cold start — the time from three fresh pages clicking "Join" to every page
 *     decoding every other page, i.e. what people would wait if they had to rejoin.
 *
 *   node test/bench/failover.ts [--runs 5] [--timeout 2000|default] [--cases kill,stop,freeze,drain]
 *
 * `--timeout default` leaves the edge's heartbeat timeout at its default (the node link finds a kill -9 or
 * a freeze long before it). For kill, a breakdown per page (failover-steps.ts): the app's marks
 * of the rebuild and, from a recorder polling getStats every 25 ms in each page, when the new consumers of
 * the others' video appeared, got a packet and decoded a frame.
 *
 * Each run restarts the killed node (same id and ports) so that three nodes stay available.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { startStack, type Stack, type StackNode } from '../support/stack.ts';
import { inboundStats, joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import { consumedProducers, decodedVideo, everyoneDecodesAgain, nodeCarrying } from '../support/media-recovery.ts';
import { waitFor } from '../support/poll.ts';
import { childPids, machineInfo, positiveInt, summarize } from './support.ts';
import { FAILOVER_STEPS, type FailoverStep, failoverSteps } from './failover-steps.ts';
import { recordReceivedMedia } from './join-timeline.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '2000' },
    cases: { type: 'string', default: 'kill,drain' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'node test/bench/failover.ts [--runs 5] [--timeout 2000|default] [--cases kill,stop,freeze,drain]\n' +
      '  --runs     runs per case (a fresh stack each)\n' +
      "  --timeout  the edge's heartbeat timeout in ms, or 'default' (the node link finds kill -9 and SIGSTOP)\n" +
      '  --cases    kill (SIGKILL), stop (SIGSTOP of the node process), freeze (SIGSTOP of the node and its\n' +
      '             mediasoup workers), drain (SIGTERM)',
  );
  process.exit(0);
}
const runs = positiveInt('--runs', values.runs, 1);
const timeoutMs = values.timeout === 'default' ? undefined : positiveInt('--timeout', values.timeout, 1000);
/** Per case (kill, stop), per step: ms from the signal, one figure per page and run. */
const steps: Record<string, Partial<Record<FailoverStep, number[]>>> = {};
const earlyMoves: string[] = [];

console.log(
  `failover benchmark: ${runs} runs per case, heartbeat timeout ${timeoutMs ?? 'default'} ms; ${JSON.stringify(machineInfo())}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const chromium = await launchChromium();
const results = {
  coldJoin: [] as number[],
  kill: [] as number[],
  killDetect: [] as number[],
  killRebuilt: [] as number[],
  stop: [] as number[],
  stopDetect: [] as number[],
  stopRebuilt: [] as number[],
  stopMediaGap: [] as number[],
  freeze: [] as number[],
  freezeDetect: [] as number[],
  freezeRebuilt: [] as number[],
  freezeMediaGap: [] as number[],
  drain: [] as number[],
  drainDetect: [] as number[],
  drainRebuilt: [] as number[],
  drainExit: [] as number[],
  drainMediaGap: [] as number[],
};

type GapSample = { t: number; frames: [participantId: string, consumerId: string, framesDecoded: number][] };
type GapMeeting = {
  inboundStats(): Promise<{ participantId: string; consumerId: string; kind: string; framesDecoded: number }[]>;
  oldInboundStats?(): Promise<{ participantId: string; consumerId: string; kind: string; framesDecoded: number }[]>;
  handovers?: readonly unknown[];
};
type GapWindow = { treffpunkt: { meeting: GapMeeting }; gapProbe?: { samples: GapSample[]; timer: number } };

/** Starts sampling the page's video frames decoded, per remote participant and consumer, every 100 ms. */
const startGapProbe = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as GapWindow;
    const samples: GapSample[] = [];
    let busy = false;
    const timer = window.setInterval(async () => {
      if (busy) return;
      busy = true;
      const m = w.treffpunkt.meeting;
      // The old consumers of a handover (make-before-break) play in the tiles until their switch: they count.
      const stats = [...(await m.inboundStats()), ...((await m.oldInboundStats?.()) ?? [])];
      samples.push({
        t: Date.now(),
        frames: stats.filter((s) => s.kind === 'video').map((s) => [s.participantId, s.consumerId, s.framesDecoded]),
      });
      busy = false;
    }, 100);
    w.gapProbe = { samples, timer };
  });

/** Whether the page still plays consumers on a node it is leaving (main's code has none). */
const playsOldMedia = (page: Page) =>
  page.evaluate(
    async () => ((await (window as unknown as GapWindow).treffpunkt.meeting.oldInboundStats?.()) ?? []).length > 0,
  );

/** Stops the probe; per remote participant, the longest interval without a new decoded frame (ms). */
async function stopGapProbe(page: Page, remotes: string[]): Promise<number[]> {
  const samples = await page.evaluate(() => {
    const w = window as unknown as GapWindow;
    window.clearInterval(w.gapProbe!.timer);
    return w.gapProbe!.samples;
  });
  return remotes.map((remote) => {
    const last = new Map<string, number>();
    let progressAt = samples[0]?.t ?? 0;
    let longest = 0;
    for (const { t, frames } of samples) {
      let progress = false;
      for (const [participantId, consumerId, n] of frames) {
        if (participantId !== remote) continue;
        if (n > (last.get(consumerId) ?? 0)) progress = true;
        last.set(consumerId, n);
      }
      if (progress) progressAt = t;
      longest = Math.max(longest, t - progressAt);
    }
    return longest;
  });
}

async function withStack<T>(fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack({
    nodes: ['node-a', 'node-b', 'node-c'].map((nodeId) => ({ nodeId, region: 'north' })),
    edgeEnv: timeoutMs === undefined ? {} : { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: String(timeoutMs) },
    mediaNodeEnv: { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '30000' },
  });
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}

let consoleLogs: string[] = [];

/** Three pages join at once; resolves with them and the cold-start time (click → everyone decodes everyone). */
async function meeting(stack: Stack, room: string) {
  const pages: Page[] = await Promise.all([0, 1, 2].map(() => chromium.newPage()));
  await Promise.all(pages.map((p) => recordReceivedMedia(p, 25)));
  const logs: string[] = [];
  for (const [i, p] of pages.entries())
    p.on('console', (m) => logs.push(`page ${i} ${m.type()}: ${m.text().slice(0, 300)}`));
  consoleLogs = logs;
  const t0 = Date.now();
  try {
    await Promise.all(
      pages.map((page, i) => joinMeeting(page, stack.edgeUrl, room, `P${i}`, { query: '?video=360&region=north' })),
    );
  } catch (err) {
    for (const [i, p] of pages.entries()) {
      // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node: innerText is what the page shows
      const shown = await p.locator('body').innerText();
      console.error(`page ${i} shows: ${shown.slice(0, 400).replace(/\n/g, ' | ')}`);
    }
    console.error(logs.join('\n'));
    console.error(
      stack
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50)|lost|moving|drain|registered/.test(l))
        .join('\n'),
    );
    throw err;
  }
  const ids = await Promise.all(pages.map(participantId));
  await everyoneDecodesAgain(pages, ids, new Set(), 60_000);
  const coldMs = Date.now() - t0;
  // A node that answered its heartbeats late may have been left already (a false failover): counted.
  const moved = await Promise.all(pages.map((p) => p.getAttribute('.meeting', 'data-media-moves')));
  if (moved.some((m) => Number(m) > 0)) earlyMoves.push(room);
  return { pages, ids, coldMs };
}

/**
 * From the signal: the edge starts moving the room (its log line's time), every page has rebuilt its media
 * on the new node (data-media-moves, set once transports, producers and consumers are made), and every
 * page decodes every other page again.
 */
async function measure(
  stack: Stack,
  node: StackNode,
  pages: Page[],
  ids: string[],
  signal: NodeJS.Signals,
  withWorkers: boolean,
) {
  const old = await consumedProducers(pages);
  // A frozen node (SIGSTOP) exits only when the stack stops.
  const exited =
    signal === 'SIGSTOP'
      ? Promise.resolve(NaN)
      : new Promise<number>((r) => node.process.once('exit', () => r(Date.now())));
  const logged = stack.output().length;
  const probing = signal !== 'SIGKILL';
  // The node's mediasoup workers (its children), frozen with it for a whole hung machine (`freeze`).
  const workers = withWorkers ? childPids(node.process.pid!) : [];
  if (probing) {
    await Promise.all(pages.map(startGapProbe));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const t0 = Date.now();
  node.process.kill(signal);
  for (const pid of workers) process.kill(pid, signal);
  let rebuiltAt = 0;
  const rebuilt = waitFor(
    'every page to rebuild its media',
    async () => {
      const moves = await Promise.all(pages.map((p) => p.getAttribute('.meeting', 'data-media-moves')));
      if (moves.every((m) => Number(m) >= 1)) return (rebuiltAt = Date.now());
      return 0;
    },
    60_000,
    50,
  );
  try {
    await everyoneDecodesAgain(pages, ids, old, 60_000);
  } catch (err) {
    for (const [i, p] of pages.entries()) {
      const decoded = await decodedVideo(p);
      console.error(
        `page ${i} (${ids[i]}): moves ${await p.getAttribute('.meeting', 'data-media-moves')}, decodes`,
        JSON.stringify([...decoded].map(([id, set]) => [id, [...set].map((x) => (old.has(x) ? 'old' : 'new'))])),
      );
      console.error(JSON.stringify(await inboundStats(p)));
    }
    console.error(
      stack
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50)|moving|moved/.test(l))
        .join('\n'),
    );
    console.error(consoleLogs.join('\n'));
    throw err;
  }
  const ms = Date.now() - t0;
  await rebuilt;
  const gaps: number[] = [];
  if (probing) {
    await waitFor(
      'every page to close its old media',
      async () => !(await Promise.all(pages.map(playsOldMedia))).some(Boolean),
      60_000,
      100,
    );
    await new Promise((r) => setTimeout(r, 1000));
    for (const [i, page] of pages.entries())
      gaps.push(
        ...(await stopGapProbe(
          page,
          ids.filter((_, j) => j !== i),
        )),
      );
  }
  const moving = stack
    .output()
    .slice(logged)
    .split('\n')
    .find((l) => l.includes('moving the room off a media node'));
  const detectMs = moving ? (JSON.parse(moving) as { time: number }).time - t0 : NaN;
  const pageSteps = probing ? [] : await Promise.all(pages.map((p) => failoverSteps(p, t0)));
  // Frozen workers would outlive the stack (only the node process is continued and stopped by it).
  for (const pid of workers) process.kill(pid, 'SIGCONT');
  return { ms, detectMs, rebuiltMs: rebuiltAt - t0, exitMs: (await exited) - t0, gaps, pageSteps };
}

for (const [kind, signal] of [
  ['kill', 'SIGKILL'],
  ['stop', 'SIGSTOP'],
  ['freeze', 'SIGSTOP'],
  ['drain', 'SIGTERM'],
] as const) {
  if (!values.cases.split(',').includes(kind)) continue;
  for (let i = 0; i < runs; i++) {
    await withStack(async (stack) => {
      const { pages, ids, coldMs } = await meeting(stack, `bench-${kind}-${i}`);
      results.coldJoin.push(coldMs);
      const node = await nodeCarrying(stack);
      const { ms, detectMs, rebuiltMs, exitMs, gaps, pageSteps } = await measure(
        stack,
        node,
        pages,
        ids,
        signal,
        kind === 'freeze',
      );
      if (kind !== 'kill') results[`${kind}MediaGap`].push(...gaps);
      results[kind].push(ms);
      results[`${kind}Detect`].push(detectMs);
      results[`${kind}Rebuilt`].push(rebuiltMs);
      if (kind === 'drain') results.drainExit.push(exitMs);
      const mine = (steps[kind] ??= {});
      for (const page of pageSteps)
        for (const step of FAILOVER_STEPS) if (page[step] !== undefined) (mine[step] ??= []).push(page[step]);
      if (pageSteps.length)
        console.log(
          `${kind} run ${i + 1} steps per page (ms from the signal): ${pageSteps.map((p) => JSON.stringify(p)).join(' ')}`,
        );
      console.log(
        `${kind} run ${i + 1}: edge moves the room after ${detectMs} ms, pages rebuilt after ${rebuiltMs} ms, every page decodes every other page again after ${ms} ms (cold start of this meeting: ${coldMs} ms)${gaps.length ? `; media gaps per page and remote video: ${gaps.join(', ')} ms` : ''}`,
      );
      for (const p of pages) await p.context().close();
    });
  }
}
await chromium.close();

const row = (name: string, xs: number[]) => {
  const s = summarize(xs);
  return `${name.padEnd(44)} ${String(s.n).padStart(3)} ${s.p50.toFixed(0).padStart(7)} ${s.max.toFixed(0).padStart(7)} ${s.min.toFixed(0).padStart(7)}`;
};
console.log(`\n${'case (ms from the signal / click)'.padEnd(44)}   n     p50     max     min`);
console.log(row('kill -9 → edge moves the room', results.killDetect));
console.log(row('kill -9 → every page rebuilt its media', results.killRebuilt));
console.log(row('kill -9 → everyone decodes everyone again', results.kill));
console.log(row('SIGSTOP → edge moves the room', results.stopDetect));
console.log(row('SIGSTOP → every page rebuilt its media', results.stopRebuilt));
console.log(row('SIGSTOP → everyone decodes everyone again', results.stop));
console.log(row('SIGSTOP: media gap per page × remote video', results.stopMediaGap));
console.log(row('freeze (node + workers) → edge moves the room', results.freezeDetect));
console.log(row('freeze → every page rebuilt its media', results.freezeRebuilt));
console.log(row('freeze → everyone decodes everyone again', results.freeze));
console.log(row('freeze: media gap per page × remote video', results.freezeMediaGap));
console.log(row('SIGTERM → edge moves the room', results.drainDetect));
console.log(row('SIGTERM → every page rebuilt its media', results.drainRebuilt));
console.log(row('SIGTERM drain → everyone decodes again (gap)', results.drain));
console.log(row('SIGTERM drain → node process exited', results.drainExit));
console.log(row('SIGTERM drain: media gap per page × remote', results.drainMediaGap));
console.log(row('baseline: cold join of 3 pages → decoding', results.coldJoin));
for (const [kind, perStep] of Object.entries(steps)) {
  console.log(`\n${`${kind}: per page, ms from the signal`.padEnd(44)}   n     p50     max     min`);
  for (const step of FAILOVER_STEPS) if (perStep[step]?.length) console.log(row(step, perStep[step]));
}
console.log(
  `moves before the signal (a node's heartbeats came late under load): ${earlyMoves.length ? earlyMoves.join(', ') : 'none'}`,
);
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`BENCH_JSON ${JSON.stringify({ timeoutMs, ...results, steps })}`);
