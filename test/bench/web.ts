/**
 * Browser app benchmark: measured, not asserted. Starts the real stack (Node edge + media node, loopback)
 * and Debian's Chromium with fake devices, and prints:
 *
 *   (a) join → first remote video frame: in the page, from the click on "Join" to the first decoded frame
 *       of a participant already in the room (inbound-rtp framesDecoded > 0, polled every 10 ms), over N
 *       joins (a fresh browser context each: no warm caches, own permission grant); the first decoded
 *       remote audio the same way, and the timeline of each join (the app's performance marks and what
 *       the page receives: join-timeline.ts).
 *   (b) bytes to open a meeting: what the page loads from the edge (HTML, JS, CSS; bytes on the wire as
 *       Chromium counts them, headers included) and what gzip -9 / brotli would make of the JS and CSS;
 *       then the return visit: the same room opened again in the same browser (its HTTP cache warm),
 *       each request with its status, whether the cache answered it, and its bytes on the wire.
 *   (c) CPU of one page in a 4-person meeting, with and without simulcast layer selection (?layers=max:
 *       every camera at the highest layer), in grid view and in speaker view. The measured participant
 *       runs in its own Chromium (1280×800, its camera off: the figure is the cost of receiving and
 *       showing three cameras, which is what layer selection changes); CPU time is the sum over that
 *       browser's processes (CDP SystemInfo.getProcessInfo) over a fixed window, as a share of one core.
 *       The three senders share one other Chromium and may lower their resolution when the machine is
 *       short of CPU: the received frame heights are printed with each figure.
 *   (d) cold start: three fresh pages open the room at the same moment, each clicks "Join" once its
 *       devices are ready; the time until every page decodes both others, and each page's timeline.
 *
 *   node test/bench/web.ts [--joins 10] [--window 20] [--video 720] [--only join,bytes,cpu,cold]
 *     [--cold-runs 5] [--node-env KEY=VALUE …] [--page-query '&connect=late']
 *
 * Prints tables, then one line `BENCH_JSON {...}` with every number.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { chromium as playwright, type Browser, type Page } from 'playwright-core';
import { startStack, type Stack } from '../support/stack.ts';
import { CHROMIUM, CHROMIUM_ARGS, framesFrom, joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';
import { firstOf, readTimeline, recordReceivedMedia, stopRecording, type PageTimeline } from './join-timeline.ts';
import { machineInfo, positiveInt, summarize, type Summary } from './support.ts';

const { values: args } = parseArgs({
  options: {
    joins: { type: 'string', default: '10' },
    window: { type: 'string', default: '20' },
    video: { type: 'string', default: '720' },
    /** Sections to run, comma-separated: join, bytes, cpu, cold (default: all). */
    only: { type: 'string' },
    'cold-runs': { type: 'string', default: '5' },
    /** KEY=VALUE for the media node's environment, e.g. TREFFPUNKT_NODE_KEYFRAME_REQUEST_DELAY_MS=0. */
    'node-env': { type: 'string', multiple: true },
    /** Appended to the joining pages' room address in (a) and (d), e.g. '&connect=late' (edge/web/diagnostics.ts). */
    'page-query': { type: 'string', default: '' },
  },
  strict: true,
});
const JOINS = positiveInt('joins', args.joins, 1);
const WINDOW_S = positiveInt('window', args.window, 5);
const VIDEO = positiveInt('video', args.video, 180);
const COLD_RUNS = positiveInt('cold-runs', args['cold-runs'], 1);
const SECTIONS = new Set((args.only ?? 'join,bytes,cpu,cold').split(','));
for (const s of SECTIONS)
  if (!['join', 'bytes', 'cpu', 'cold'].includes(s)) throw new Error(`--only: unknown section "${s}"`);

const watchdog = setTimeout(() => {
  console.error('benchmark watchdog: giving up after 20 minutes');
  process.exit(2);
}, 20 * 60_000);
watchdog.unref();

// ---------------------------------------------------------------------------------------------------
// (a) join → first remote video frame

/** The steps of a join, in order: the app's marks and what the page receives (join-timeline.ts). */
const JOIN_STEPS = [
  'socket-open',
  'join-reply',
  'media-started',
  'recv-connect',
  'send-connect',
  'produced-microphone',
  'produced-camera',
  'send-connected',
  'recv-connected',
  'video consumer made',
  'video first packet',
  'video first frame',
  'audio consumer made',
  'audio first packet',
  'audio first decoded',
  'video: consumer made → first frame',
  'audio: consumer made → decoded',
] as const;

/** Each step of a join in ms after `t0` (page clock); a step that did not happen is left out. */
function joinSteps(t: PageTimeline, t0: number): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (step: string, at: number | undefined) => {
    if (at !== undefined) out[step] = at - t0;
  };
  for (const step of JOIN_STEPS) put(step, t.marks[step]);
  for (const kind of ['video', 'audio'] as const) {
    put(`${kind} consumer made`, firstOf(t, kind, 'seen'));
    put(`${kind} first packet`, firstOf(t, kind, 'firstPacket'));
    put(`${kind} first ${kind === 'video' ? 'frame' : 'decoded'}`, firstOf(t, kind, 'firstDecoded'));
  }
  // The wait for the first picture (a key frame) or sound once the page has its consumer.
  if (out['video first frame'] !== undefined && out['video consumer made'] !== undefined)
    out['video: consumer made → first frame'] = out['video first frame'] - out['video consumer made'];
  if (out['audio first decoded'] !== undefined && out['audio consumer made'] !== undefined)
    out['audio: consumer made → decoded'] = out['audio first decoded'] - out['audio consumer made'];
  return out;
}

/** Per step, the summary over all samples that have it (in JOIN_STEPS order, then any others). */
function summarizeSteps(samples: Record<string, number>[], order: readonly string[]): [string, Summary][] {
  const names = [...new Set([...order, ...samples.flatMap(Object.keys)])];
  return names
    .map((name) => [name, samples.map((x) => x[name]).filter((x): x is number => x !== undefined)] as const)
    .filter(([, xs]) => xs.length > 0)
    .map(([name, xs]) => [name, summarize(xs)]);
}

function printSteps(rows: [string, Summary][], indent = '    '): void {
  console.log(
    `${indent}${'step'.padEnd(50)} ${'n'.padStart(3)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}`,
  );
  for (const [name, s] of rows)
    console.log(
      `${indent}${name.padEnd(50)} ${String(s.n).padStart(3)} ${s.p50.toFixed(0).padStart(7)} ${s.p95.toFixed(0).padStart(7)} ${s.min.toFixed(0).padStart(7)} ${s.max.toFixed(0).padStart(7)}`,
    );
}

async function joinToFirstFrame(stack: Stack) {
  const browser = await launchChromium();
  const room = `bench-join-${Date.now()}`;
  const host = await browser.newPage();
  await joinMeeting(host, stack.edgeUrl, room, 'Host', { query: `?video=${VIDEO}` });
  const samples: number[] = [];
  const audio: number[] = [];
  const steps: Record<string, number>[] = [];
  let relayFallbacks = 0;
  for (let i = 0; i < JOINS; i++) {
    const page = await browser.newPage();
    await recordReceivedMedia(page, 10);
    await page.goto(`${stack.edgeUrl}/${room}?video=${VIDEO}${args['page-query']}`);
    await page.fill('#name', `Guest ${i + 1}`);
    await page.waitForSelector('.prejoin[data-ready]');
    // Clicked inside the page; every time below is taken in the page (join-timeline.ts), none here.
    await page.evaluate(() => (document.getElementById('join') as HTMLButtonElement).click());
    const t = await waitFor(
      'the first remote video frame and audio',
      async () => {
        const t = await readTimeline(page);
        return firstOf(t, 'video', 'firstDecoded') !== undefined && firstOf(t, 'audio', 'firstDecoded') !== undefined
          ? t
          : undefined;
      },
      30_000,
      100,
    );
    await stopRecording(page);
    const s = joinSteps(t, t.marks['join-click']!);
    steps.push(s);
    samples.push(s['video first frame']!);
    audio.push(s['audio first decoded']!);
    if ((await page.getAttribute('.meeting', 'data-media')) !== null) relayFallbacks++;
    await page.click('#leave');
    await page.context().close();
  }
  await browser.close();
  return {
    ...summarize(samples),
    samples: samples.map((x) => Math.round(x)),
    audio: { ...summarize(audio), samples: audio.map((x) => Math.round(x)) },
    steps: summarizeSteps(steps, JOIN_STEPS),
    relayFallbacks,
  };
}

// ---------------------------------------------------------------------------------------------------
// (d) three fresh pages → everyone decodes everyone

/** The steps of a cold start, per page, in ms after the three pages began to load. */
const COLD_STEPS = [
  'HTML received',
  'DOMContentLoaded',
  'app-start',
  'devices-ready',
  'join-click',
  'join-reply',
  'media-started',
  'send-connected',
  'recv-connected',
  'all video consumers made',
  'all video first packets',
  'decodes both others',
  'wait: per other, consumer made → first frame (max)',
] as const;

/**
 * Three pages (fresh contexts of one Chromium: no warm cache, own permission grant) open the room at
 * the same moment, each clicks "Join" once its devices are ready, and each decodes the other two. The
 * figure is from the moment the three loads start to the last page decoding its last other page; the
 * per-page steps say where that time goes.
 */
async function coldThreePages(stack: Stack) {
  const browser = await launchChromium();
  const totals: number[] = [];
  const steps: Record<string, number>[] = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    const room = `bench-cold-${run}-${Date.now()}`;
    const pages = await Promise.all([0, 1, 2].map(() => browser.newPage()));
    for (const p of pages) await recordReceivedMedia(p, 20);
    const t0 = Date.now();
    await Promise.all(
      pages.map(async (page, i) => {
        await page.goto(`${stack.edgeUrl}/${room}?video=360${args['page-query']}`);
        await page.fill('#name', `P${i}`);
        await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
        await page.evaluate(() => (document.getElementById('join') as HTMLButtonElement).click());
        await page.waitForSelector('.meeting .stage', { timeout: 60_000 });
      }),
    );
    const ids = await Promise.all(pages.map(participantId));
    /** Wall-clock ms after t0 of a page-clock time. */
    const wall = (t: PageTimeline, at: number | undefined) => (at === undefined ? undefined : t.timeOrigin + at - t0);
    const timelines = await waitFor(
      'every page to decode every other page',
      async () => {
        const ts = await Promise.all(pages.map((p) => readTimeline(p)));
        const done = ts.every((t, i) =>
          ids.every(
            (id, j) =>
              i === j ||
              t.tracks.some((x) => x.participantId === id && x.kind === 'video' && x.firstDecoded !== undefined),
          ),
        );
        return done ? ts : undefined;
      },
      60_000,
      200,
    );
    for (const p of pages) await stopRecording(p);
    let everyone = 0;
    for (const [i, t] of timelines.entries()) {
      const s: Record<string, number> = {};
      const put = (step: string, at: number | undefined) => {
        const w = wall(t, at);
        if (w !== undefined) s[step] = w;
      };
      put('HTML received', t.htmlReceived);
      put('DOMContentLoaded', t.domContentLoaded);
      for (const step of COLD_STEPS) put(step, t.marks[step]);
      const others = ids.filter((_, j) => j !== i);
      /** Per other participant, the first time one of its video tracks reached `what`; then the latest. */
      const lastOf = (what: 'seen' | 'firstPacket' | 'firstDecoded') =>
        Math.max(
          ...others.map((id) =>
            Math.min(
              ...t.tracks
                .filter((x) => x.participantId === id && x.kind === 'video' && x[what] !== undefined)
                .map((x) => x[what]!),
            ),
          ),
        );
      put('all video consumers made', lastOf('seen'));
      put('all video first packets', lastOf('firstPacket'));
      put('decodes both others', lastOf('firstDecoded'));
      /** Per other participant: from its video consumer appearing to its first frame; the longer of the two. */
      s['wait: per other, consumer made → first frame (max)'] = Math.max(
        ...others.map((id) => {
          const v = t.tracks.filter(
            (x) => x.participantId === id && x.kind === 'video' && x.firstDecoded !== undefined,
          );
          return Math.min(...v.map((x) => x.firstDecoded! - x.seen));
        }),
      );
      steps.push(s);
      everyone = Math.max(everyone, s['decodes both others']!);
    }
    totals.push(everyone);
    for (const p of pages) await p.context().close();
  }
  await browser.close();
  return { ...summarize(totals), samples: totals.map((x) => Math.round(x)), steps: summarizeSteps(steps, COLD_STEPS) };
}

// ---------------------------------------------------------------------------------------------------
// (b) bytes to open a meeting

async function bytesToOpen(stack: Stack) {
  const browser = await launchChromium();
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const wire = new Map<string, number>();
  const urls = new Map<string, string>();
  const statuses = new Map<string, number>();
  const fromCache = new Set<string>();
  cdp.on('Network.responseReceived', (e) => {
    urls.set(e.requestId, e.response.url);
    statuses.set(e.requestId, e.response.status);
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) fromCache.add(e.requestId);
  });
  cdp.on('Network.loadingFinished', (e) => wire.set(e.requestId, e.encodedDataLength));
  await joinMeeting(page, stack.edgeUrl, `bench-bytes-${Date.now()}`, 'Bytes', { query: `?video=${VIDEO}` });
  const files: Record<string, { wire: number; raw: number; gzip: number; brotli: number; encoding: string }> = {};
  const firstVisit = [...urls.keys()];
  for (const [id, url] of urls) {
    const path = new URL(url).pathname;
    if (!/\.(js|css)$/.test(path) && !url.startsWith(`${stack.edgeUrl}/bench-bytes`)) continue;
    const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    const body = Buffer.from(await res.arrayBuffer());
    const enc =
      (await fetch(url, { headers: { 'accept-encoding': 'gzip, br' } })).headers.get('content-encoding') ?? 'none';
    files[path.endsWith('.js') || path.endsWith('.css') ? path : '/<room> (index.html)'] = {
      wire: wire.get(id) ?? 0,
      raw: body.length,
      gzip: gzipSync(body, { level: 9 }).length,
      brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      encoding: enc,
    };
  }
  // The return visit: the same room again, same browser. Only what reaches the network counts.
  const returnVisit: { path: string; status: number; fromCache: boolean; wire: number }[] = [];
  const seen = new Set(firstVisit);
  const cached = new Set<string>();
  cdp.on('Network.requestServedFromCache', (e) => cached.add(e.requestId));
  await page.goto(page.url());
  await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
  for (const [id, url] of urls) {
    if (seen.has(id) || !url.startsWith(stack.edgeUrl)) continue;
    returnVisit.push({
      path: new URL(url).pathname,
      status: statuses.get(id) ?? 0,
      fromCache: cached.has(id) || fromCache.has(id),
      wire: wire.get(id) ?? 0,
    });
  }
  await browser.close();
  return { files, returnVisit };
}

// ---------------------------------------------------------------------------------------------------
// (c) CPU of one page in a 4-person meeting

async function cpuSeconds(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
    processInfo: { type: string; id: number; cpuTime: number }[];
  };
  await cdp.detach();
  return info.processInfo.reduce((s, p) => s + p.cpuTime, 0);
}

async function cpuOfOnePage(stack: Stack, mode: { layers: boolean; view: 'grid' | 'speaker' }) {
  const others = await launchChromium();
  const measured = await playwright.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const room = `bench-cpu-${mode.view}-${mode.layers ? 'layers' : 'max'}-${Date.now()}`;
  const pages: Page[] = [];
  for (const name of ['Ada', 'Ben', 'Cleo']) {
    const p = await others.newPage();
    await joinMeeting(p, stack.edgeUrl, room, name, { query: `?video=${VIDEO}` });
    pages.push(p);
  }
  const ctx = await measured.newContext({
    viewport: { width: 1280, height: 800 },
    permissions: ['camera', 'microphone'],
  });
  const page = await ctx.newPage();
  // Camera off: what it costs to receive (what layer selection changes), not to encode one's own camera.
  await joinMeeting(page, stack.edgeUrl, room, 'Measured', {
    query: `?video=${VIDEO}${mode.layers ? '' : '&layers=max'}`,
    camera: false,
  });
  if (mode.view === 'speaker') await page.click('#view-toggle');
  const ids = await Promise.all(pages.map(participantId));
  for (const id of ids)
    await waitFor('video from every other participant', async () => (await framesFrom(page, id)) > 30, 30_000, 250);
  await page.waitForTimeout(3_000); // layers settle
  type Stat = {
    consumerId: string;
    source: string;
    kind: string;
    framesDecoded: number;
    frameWidth: number;
    frameHeight: number;
    layer?: number;
  };
  const cameras = async () =>
    (
      await page.evaluate(async () =>
        (
          window as unknown as { treffpunkt: { meeting: { inboundStats(): Promise<Stat[]> } } }
        ).treffpunkt.meeting.inboundStats(),
      )
    ).filter((s) => s.kind === 'video' && s.source === 'camera');
  const before = await cameras();
  const cpu0 = await cpuSeconds(measured);
  const t0 = performance.now();
  await page.waitForTimeout(WINDOW_S * 1000);
  const cpu1 = await cpuSeconds(measured);
  const seconds = (performance.now() - t0) / 1000;
  const after = await cameras();
  let frames = 0;
  let pixels = 0;
  for (const s of after) {
    const f = s.framesDecoded - (before.find((b) => b.consumerId === s.consumerId)?.framesDecoded ?? 0);
    frames += f;
    pixels += f * s.frameWidth * s.frameHeight;
  }
  const heights = after.map((s) => s.frameHeight);
  const asked = after.map((s) => (s.layer === undefined ? 'max' : String(s.layer)));
  await measured.close();
  await others.close();
  return {
    cpuPercentOfOneCore: Math.round(((cpu1 - cpu0) / seconds) * 1000) / 10,
    decodedFps: Math.round(frames / seconds),
    decodedMegapixelsPerSecond: Math.round(pixels / seconds / 1e5) / 10,
    receivedHeights: heights,
    askedLayers: asked,
  };
}

// ---------------------------------------------------------------------------------------------------

const mediaNodeEnv = Object.fromEntries(
  (args['node-env'] ?? []).map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--node-env wants KEY=VALUE, got "${kv}"`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);
const stack = await startStack({ runtime: 'node', workers: 1, mediaNodeEnv });
try {
  console.log(
    `machine: ${JSON.stringify(machineInfo())}; camera capture ${VIDEO}p; Chromium ${CHROMIUM}; media node env ${JSON.stringify(mediaNodeEnv)}\n`,
  );

  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const join = SECTIONS.has('join') ? await joinToFirstFrame(stack) : undefined;
  if (join) {
    console.log(`(a) click on "Join" → first decoded remote video frame, ${join.n} joins (ms)`);
    console.log(
      `    p50 ${join.p50.toFixed(0)}   p95 ${join.p95.toFixed(0)}   min ${join.min.toFixed(0)}   max ${join.max.toFixed(0)}   mean ${join.mean.toFixed(0)}   (each: ${join.samples.join(', ')}; relay fallbacks: ${join.relayFallbacks})`,
    );
    const a = join.audio;
    console.log(
      `    first decoded remote audio: p50 ${a.p50.toFixed(0)}   p95 ${a.p95.toFixed(0)}   min ${a.min.toFixed(0)}   max ${a.max.toFixed(0)}   (each: ${a.samples.join(', ')})`,
    );
    console.log('    timeline, ms after the click:');
    printSteps(join.steps);
    console.log(`    load average during the run: ${load()}\n`);
  }

  const cold = SECTIONS.has('cold') ? await coldThreePages(stack) : undefined;
  if (cold) {
    console.log(`(d) three fresh pages open the room at once → everyone decodes everyone, ${cold.n} runs (ms)`);
    console.log(
      `    p50 ${cold.p50.toFixed(0)}   p95 ${cold.p95.toFixed(0)}   min ${cold.min.toFixed(0)}   max ${cold.max.toFixed(0)}   (each: ${cold.samples.join(', ')})`,
    );
    console.log('    timeline per page, ms after the three loads began:');
    printSteps(cold.steps);
    console.log(`    load average during the run: ${load()}\n`);
  }

  const { files: bytes, returnVisit } = SECTIONS.has('bytes')
    ? await bytesToOpen(stack)
    : { files: {}, returnVisit: [] };
  if (SECTIONS.has('bytes')) {
    console.log('(b) bytes to open a meeting (wire = as transferred by the edge; gzip -9 / brotli 11 = if compressed)');
    let js = 0;
    let jsGzip = 0;
    for (const [path, f] of Object.entries(bytes)) {
      console.log(
        `    ${path.padEnd(26)} wire ${String(f.wire).padStart(8)}   raw ${String(f.raw).padStart(8)}   gzip ${String(f.gzip).padStart(7)}   brotli ${String(f.brotli).padStart(7)}   content-encoding ${f.encoding}`,
      );
      if (/\.(js|css)$/.test(path)) {
        js += f.raw;
        jsGzip += f.gzip;
      }
    }
    console.log(`    JS + CSS: ${js} bytes raw, ${jsGzip} bytes gzip`);
    console.log('    return visit (same room, same browser):');
    for (const r of returnVisit)
      console.log(
        `    ${r.path.padEnd(26)} status ${r.status}   ${r.fromCache ? 'from cache' : 'network   '}   wire ${String(r.wire).padStart(8)}`,
      );
    console.log(
      `    return visit total on the wire: ${returnVisit.reduce((sum, r) => sum + (r.fromCache ? 0 : r.wire), 0)} bytes\n`,
    );
  }

  const cpu: Record<string, Awaited<ReturnType<typeof cpuOfOnePage>>> = {};
  if (SECTIONS.has('cpu')) {
    console.log(`(c) CPU of one page (its own Chromium, all processes) in a 4-person meeting, ${WINDOW_S} s window`);
    for (const view of ['grid', 'speaker'] as const) {
      for (const layers of [true, false]) {
        const key = `${view}, ${layers ? 'layer selection' : 'no selection (?layers=max)'}`;
        cpu[key] = await cpuOfOnePage(stack, { layers, view });
        const r = cpu[key];
        console.log(
          `    ${key.padEnd(42)} ${String(r.cpuPercentOfOneCore).padStart(6)} % of a core   ${r.decodedFps} frames/s, ${r.decodedMegapixelsPerSecond} Mpx/s decoded   asked layers ${r.askedLayers.join('/')} → received heights ${r.receivedHeights.join('/')}`,
        );
      }
    }
  }
  console.log(
    `\nBENCH_JSON ${JSON.stringify({ machine: machineInfo(), video: VIDEO, joinToFirstFrameMs: join, coldThreePagesMs: cold, loadAverage: loadavg(), bytes, returnVisit, cpu })}`,
  );
} finally {
  await stack.stop();
}
