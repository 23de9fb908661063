/**
 * Join benchmark, Firefox vs Chromium (issue 15): measured, not asserted. From the click on "Join" to the
 * first decoded frame of a remote camera and the first received audio samples of its microphone.
 *
 * Runs in a network namespace of its own (test/support/netns.ts; Firefox ignores loopback host
 * candidates): the Node edge and a media node on the namespace's non-loopback address, Debian's Firefox
 * ESR (puppeteer-core, WebDriver BiDi, headless) and Chromium (playwright-core, headless). One Chromium
 * page ("Host", camera 360p + microphone) stays in the room; then N joins per engine, alternating
 * Firefox and Chromium so that both see the same machine load. Each join: a fresh page (own context) opens
 * the room, waits until the pre-join screen has its devices, then, inside the page, notes the time,
 * clicks Join and polls the meeting's own getStats summary (`treffpunkt.meeting.inboundStats()`) every
 * 20 ms until the Host's video has a decoded frame and its audio has samples. The page then leaves
 * (the Leave button) and closes. Timing is in-page (performance.now()), so the driver's round trips do
 * not count; resolution is the 20 ms poll.
 *
 *   npm run bench:browsers -- [--joins 10]
 *
 * Prints a table and one line `BENCH_JSON {...}`. See docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { namespaceAddress, runNodeInNamespace } from '../support/netns.ts';
import { startStack } from '../support/stack.ts';
import { joinMeeting, launchChromium, type MeetingPage } from '../support/browser.ts';
import { launchFirefox } from '../support/firefox.ts';
import { latencyTable, machineInfo, positiveInt, summarize } from './support.ts';

const { values: args } = parseArgs({ options: { joins: { type: 'string', default: '10' } }, strict: true });
const JOINS = positiveInt('joins', args.joins, 1);
const address = namespaceAddress();

if (!address) {
  const run = await runNodeInNamespace([fileURLToPath(import.meta.url), '--joins', String(JOINS)], {
    tag: 'bench',
    timeoutMs: 20 * 60_000,
  });
  process.exit(run.code ?? 1);
}

interface Sample {
  video: number;
  audio: number;
}

/** Opens the room, waits for the devices, then clicks Join and times the first media, all inside the page. */
async function timedJoin(page: MeetingPage, url: string, name: string): Promise<Sample> {
  await page.goto(url);
  await page.fill('#name', name);
  await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
  return page.evaluate(async () => {
    type Stat = { kind: string; framesDecoded: number; totalSamplesReceived: number };
    const w = window as unknown as { treffpunkt?: { meeting?: { inboundStats(): Promise<Stat[]> } } };
    const t0 = performance.now();
    (document.querySelector('#join') as HTMLButtonElement).click();
    let video: number | undefined;
    let audio: number | undefined;
    while (video === undefined || audio === undefined) {
      if (performance.now() - t0 > 60_000) throw new Error('no media within 60 s');
      await new Promise((r) => setTimeout(r, 20));
      const stats = (await w.treffpunkt?.meeting?.inboundStats().catch(() => [])) ?? [];
      const now = performance.now() - t0;
      if (video === undefined && stats.some((s) => s.kind === 'video' && s.framesDecoded > 0)) video = now;
      if (audio === undefined && stats.some((s) => s.kind === 'audio' && s.totalSamplesReceived > 0)) audio = now;
    }
    return { video: Math.round(video), audio: Math.round(audio) };
  });
}

const stack = await startStack({ runtime: 'node', workers: 1, mediaNodeEnv: { TREFFPUNKT_NODE_LISTEN_IP: address } });
const firefox = await launchFirefox();
const chromium = await launchChromium();
const samples: Record<'firefox' | 'chromium', Sample[]> = { firefox: [], chromium: [] };
try {
  const room = `bench-browsers-${Date.now()}`;
  const url = `${stack.edgeUrl}/${room}?video=360`;
  const host = await chromium.newPage();
  await joinMeeting(host, stack.edgeUrl, room, 'Host');
  for (let i = 0; i < JOINS; i++) {
    for (const engine of i % 2 === 0 ? (['firefox', 'chromium'] as const) : (['chromium', 'firefox'] as const)) {
      const join = async (page: MeetingPage) => {
        const sample = await timedJoin(page, url, `${engine}-${i}`);
        samples[engine].push(sample);
        console.error(`join ${i + 1}/${JOINS} ${engine}: video ${sample.video} ms, audio ${sample.audio} ms`);
        await page.click('#leave');
      };
      if (engine === 'firefox') {
        const page = await firefox.newPage();
        await join(page);
        await page.close();
      } else {
        const page = await chromium.newPage();
        await join(page);
        await page.context().close();
      }
    }
  }
} finally {
  await firefox.close();
  await chromium.close();
  await stack.stop();
}

const rows: [string, ReturnType<typeof summarize>][] = [
  ['Firefox: Join → first remote video frame', summarize(samples.firefox.map((s) => s.video))],
  ['Chromium: Join → first remote video frame', summarize(samples.chromium.map((s) => s.video))],
  ['Firefox: Join → first remote audio', summarize(samples.firefox.map((s) => s.audio))],
  ['Chromium: Join → first remote audio', summarize(samples.chromium.map((s) => s.audio))],
];
console.log(latencyTable(rows));
console.log(`BENCH_JSON ${JSON.stringify({ machine: machineInfo(), joins: JOINS, samples })}`);
