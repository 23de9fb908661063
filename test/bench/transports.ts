/**
 * Transports benchmark (issue 16): measured, not asserted. Runs itself again inside a fresh network
 * namespace (test/support/locked-down-network.ts; port 443 without touching the host) with the stack of the
 * locked-network tests (edge on 127.0.0.1:443, coturn UDP/TCP 3478 and TLS 443 on 127.0.0.2), and prints:
 *
 *   (a) click on "Join" → first decoded frame of the participant already in the room, N joins per path:
 *       UDP direct; ICE-TCP (?transport=tcp, UDP dropped); TURN/UDP (?relay=1, TCP to coturn dropped);
 *       TURN/TLS on 443 (?relay=1, nothing but TCP 443 allowed); and TURN/TLS reached by the automatic
 *       fallback (no switch, nothing but TCP 443: the first attempt's 5 s are in the figure). Timed inside
 *       the page as in web.ts; the joining page has camera and microphone off (it only receives). The
 *       path actually used is checked on every join (the receive transport's selected pair).
 *   (b) coturn CPU per relayed stream, TLS vs UDP: K relay-only pages receive one camera (360p) and one
 *       microphone each through coturn, over TLS (only TCP 443 allowed) or UDP (TCP to coturn dropped);
 *       coturn's CPU time (/proc) over a fixed window, per stream, as a share of one core.
 *
 *   npm run bench:transports -- [--joins 10] [--streams 3] [--window 20]
 *
 * Prints tables, then one line `BENCH_JSON {...}` with every number.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import {
  type Chromium,
  candidatePairs,
  framesFrom,
  joinMeeting,
  launchChromium,
  participantId,
} from '../support/browser.ts';
import { type LockedStack, startLockedStack } from '../support/locked-stack.ts';
import {
  chromiumAsPageUser,
  IN_NETNS,
  loopbackUp,
  netnsUnavailable,
  pageFirewall,
  removeDir,
} from '../support/locked-down-network.ts';
import { waitFor } from '../support/poll.ts';
import { cpuSeconds } from '../support/turn-node.ts';
import {
  childPids,
  comm,
  latencyTable,
  machineInfo,
  positiveInt,
  runBenchmark,
  type Summary,
  summarize,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    joins: { type: 'string', default: '10' },
    streams: { type: 'string', default: '3' },
    window: { type: 'string', default: '20' },
  },
  strict: true,
});
const JOINS = positiveInt('joins', args.joins, 1);
const STREAMS = positiveInt('streams', args.streams, 1);
const WINDOW_S = positiveInt('window', args.window, 5);

/** A path to measure: the page's switches, the rules for its packets, and what its selected pair must be. */
interface PathCase {
  name: string;
  query: string;
  rules: string[];
  dropRest: boolean;
  expect: (p: { localType?: string; protocol?: string; relayProtocol?: string }) => boolean;
}
const TLS_ONLY = ['tcp dport 443 accept'];
const PATHS: PathCase[] = [
  {
    name: 'UDP direct',
    query: '',
    rules: [],
    dropRest: false,
    expect: (p) => p.localType !== 'relay' && p.protocol === 'udp',
  },
  {
    name: 'ICE-TCP',
    query: '&transport=tcp',
    rules: ['meta l4proto tcp accept'],
    dropRest: true,
    expect: (p) => p.localType !== 'relay' && p.protocol === 'tcp',
  },
  {
    name: 'TURN/UDP',
    query: '&relay=1',
    rules: ['ip daddr 127.0.0.2 meta l4proto tcp drop'],
    dropRest: false,
    expect: (p) => p.localType === 'relay' && p.relayProtocol === 'udp',
  },
  {
    name: 'TURN/TLS 443',
    query: '&relay=1',
    rules: TLS_ONLY,
    dropRest: true,
    expect: (p) => p.localType === 'relay' && p.relayProtocol === 'tls',
  },
  {
    name: 'TURN/TLS 443, fallback',
    query: '',
    rules: TLS_ONLY,
    dropRest: true,
    expect: (p) => p.localType === 'relay' && p.relayProtocol === 'tls',
  },
];

let locked: LockedStack | undefined;

if (!IN_NETNS) {
  const why = netnsUnavailable();
  if (why) {
    console.error(`transports benchmark: ${why}`);
    process.exit(1);
  }
  // Not a child of a test run: the inner process prints for itself.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(
    'unshare',
    ['--net', '--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { env: { ...env, TREFFPUNKT_TEST_NETNS: '1' }, stdio: 'inherit' },
  );
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  runBenchmark('transports', 30 * 60_000, () => locked?.stack, main);
}

async function main(): Promise<void> {
  loopbackUp();
  locked = await startLockedStack();
  const { stack, spki } = locked;
  const room = `bench-transports-${Date.now()}`;
  // The participant already there runs as root: the rules (for the page user) leave it alone.
  const hostBrowser = await launchChromium();
  const host = await hostBrowser.newPage();
  await joinMeeting(host, stack.edgeUrl, room, 'Host', { query: '?video=360' });
  const hostId = await participantId(host);
  const wrapper = chromiumAsPageUser();
  const guests = await launchChromium({
    executablePath: wrapper.bin,
    args: [`--ignore-certificate-errors-spki-list=${spki}`],
  });
  try {
    const joins: Record<string, Summary & { samples: number[]; wrongPath: number }> = {};
    for (const path of PATHS) {
      pageFirewall(path.rules, path.dropRest);
      const samples: number[] = [];
      let wrongPath = 0;
      for (let i = 0; i < JOINS; i++) {
        const page = await guests.newPage();
        samples.push(await joinToFirstFrame(page, `${stack.edgeUrl}/${room}?video=360${path.query}`));
        const recv = (await candidatePairs(page)).find((p) => p.direction === 'recv');
        if (!recv || !path.expect(recv)) {
          wrongPath++;
          console.error(`${path.name} join ${i + 1}: used ${JSON.stringify(recv)}`);
        }
        await page.context().close();
      }
      joins[path.name] = { ...summarize(samples), samples: samples.map(Math.round), wrongPath };
      console.error(`${path.name}: p50 ${joins[path.name]!.p50.toFixed(0)} ms (${wrongPath} on another path)`);
    }
    const cpu = {
      'TURN/UDP': await coturnCpuPerStream(guests, stack, room, hostId, PATHS[2]!),
      'TURN/TLS 443': await coturnCpuPerStream(guests, stack, room, hostId, PATHS[3]!),
    };
    pageFirewall([], false);
    console.log(`\nClick on "Join" → first decoded remote frame, ${JOINS} joins per path (ms):\n`);
    console.log(latencyTable(Object.entries(joins)));
    console.log(`\ncoturn CPU per relayed stream (360p camera + microphone), ${STREAMS} streams, ${WINDOW_S} s:\n`);
    for (const [name, c] of Object.entries(cpu))
      console.log(
        `${name.padEnd(14)} ${(c.corePercentPerStream).toFixed(2)} % of a core per stream (${c.cpuSeconds.toFixed(2)} CPU s)`,
      );
    console.log(
      `BENCH_JSON ${JSON.stringify({ machine: machineInfo(), joins: JOINS, streams: STREAMS, windowSeconds: WINDOW_S, join: joins, coturnCpu: cpu })}`,
    );
  } finally {
    await guests.close();
    removeDir(wrapper.dir);
    await hostBrowser.close();
    await locked.stop();
  }
}

/** Joins with camera and microphone off; ms from the click on Join to the first decoded remote video frame. */
async function joinToFirstFrame(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.fill('#name', 'Guest');
  await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
  await page.click('#prejoin-mic');
  await page.click('#prejoin-camera');
  return page.evaluate(async () => {
    const t0 = performance.now();
    (document.getElementById('join') as HTMLButtonElement).click();
    type M = { inboundStats(): Promise<{ kind: string; framesDecoded: number }[]> };
    for (;;) {
      const m = (window as unknown as { treffpunkt?: { meeting: M } }).treffpunkt?.meeting;
      if (m && (await m.inboundStats()).some((s) => s.kind === 'video' && s.framesDecoded > 0))
        return performance.now() - t0;
      if (performance.now() - t0 > 60_000) throw new Error('no remote frame within 60 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  });
}

/** STREAMS relay-only receivers on `path`; coturn's CPU over WINDOW_S once all of them decode. */
async function coturnCpuPerStream(
  guests: Chromium,
  stack: LockedStack['stack'],
  room: string,
  hostId: string,
  path: PathCase,
): Promise<{ cpuSeconds: number; corePercentPerStream: number }> {
  pageFirewall(path.rules, path.dropRest);
  const coturn = childPids(stack.mediaNode.pid!).find((p) => comm(p) === 'turnserver');
  if (!coturn) throw new Error('no turnserver child of the media node');
  const pages: Page[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const page = await guests.newPage();
    await joinMeeting(page, stack.edgeUrl, room, `R${i}`, {
      query: `?video=360${path.query}`,
      camera: false,
      microphone: false,
    });
    pages.push(page);
  }
  for (const page of pages)
    await waitFor(`${path.name} receiver to decode`, async () => (await framesFrom(page, hostId)) > 30, 60_000, 250);
  const cpu0 = cpuSeconds(coturn);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const cpu = cpuSeconds(coturn) - cpu0;
  const seconds = (Date.now() - t0) / 1000;
  for (const page of pages) await page.context().close();
  return { cpuSeconds: cpu, corePercentPerStream: (100 * cpu) / seconds / STREAMS };
}
