/**
 * Locked-down networks (issue 16): real Chromium pages, the real stack and real coturn, all inside a
 * network namespace this test makes (test/support/locked-down-network.ts), with nftables rules in that namespace that
 * drop the pages' packets (Chromium runs as `nobody`; the stack's own traffic is untouched):
 * - only TCP to port 443 allowed: a three-page meeting works over TURN/TLS on 443 (coturn's TLS listener
 *   on 127.0.0.2:443 with a certificate made here; the edge on 127.0.0.1:443);
 * - UDP dropped, TCP allowed: media over ICE-TCP (or TURN/TCP);
 * - nothing but an HTTP CONNECT proxy (tinyproxy, CONNECT to port 443 only): Chromium tunnels TURN/TLS
 *   through it (its default WebRTC IP handling; no special flag) and the meeting works;
 * - everything dropped but the edge: the page says that the network blocks media
 *   (data-media="mediaFailed", with the paths tried in data-media-tried) within 15 s of clicking Join.
 * Chromium checks the TURN server's certificate like any other; it is given the fingerprint of the test
 * certificate's key (--ignore-certificate-errors-spki-list), as a browser would trust a real certificate.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import {
  type Chromium,
  candidatePairs,
  framesFrom,
  inboundStats,
  sendInfo,
  joinMeeting,
  launchChromium,
  participantId,
} from '../support/browser.ts';
import {
  chromiumAsPageUser,
  droppedPagePackets,
  IN_NETNS,
  loopbackUp,
  netnsUnavailable,
  pageFirewall,
  removeDir,
  runInNetns,
} from '../support/locked-down-network.ts';
import { waitFor } from '../support/poll.ts';
import { type LockedStack, startLockedStack, TURN_IP } from '../support/locked-stack.ts';
import type { Stack } from '../support/stack.ts';

/** The HTTP proxy of the proxy-only case (tinyproxy, run as root: the rules let the pages reach only it). */
const PROXY_IP = '127.0.0.3';
const PROXY_PORT = 8888;
const hasTinyproxy = spawnSync('sh', ['-c', 'command -v tinyproxy'], { stdio: 'ignore' }).status === 0;

/**
 * tinyproxy in the foreground, allowing CONNECT only to port 443 (its default ConnectPort list, written
 * out): what a school's proxy allows. Its log shows the tunnels opened.
 */
async function startTinyproxy(dir: string): Promise<{ log(): string; stop(): void }> {
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    [
      `Port ${PROXY_PORT}`,
      `Listen ${PROXY_IP}`,
      'Timeout 600',
      'Allow 127.0.0.0/8',
      'ConnectPort 443',
      'LogLevel Info',
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (log += String(d)));
  child.stderr.on('data', (d) => (log += String(d)));
  await waitFor('tinyproxy to listen', () => /Accepting connections/.test(log) || child.exitCode !== null, 10_000, 50);
  if (child.exitCode !== null) throw new Error(`tinyproxy exited:\n${log}`);
  return { log: () => log, stop: () => child.kill('SIGTERM') };
}

if (!IN_NETNS) {
  describe('locked-down networks', () => {
    test('run inside a fresh network namespace', { skip: netnsUnavailable(), timeout: 900_000 }, async (t) => {
      const { code, output } = await runInNetns(fileURLToPath(import.meta.url), 840_000);
      // The inner run's verdicts and diagnostics (spec reporter), one line each.
      for (const line of output.split('\n')) if (/^\s*[✔✖ℹ▶]/.test(line)) t.diagnostic(line.trimEnd());
      assert.equal(code, 0, `the run inside the namespace failed:\n${output.slice(-20_000)}`);
    });
  });
} else {
  describe('inside the namespace', () => {
    let locked: LockedStack;
    let stack: Stack;
    let dir: string;
    let spki: string;
    before(async () => {
      loopbackUp();
      locked = await startLockedStack();
      ({ stack, dir, spki } = locked);
    });
    after(async () => {
      await locked?.stop();
    });

    /** A Chromium running as the page user, trusting the test certificate; closed after `fn`. */
    async function withChromium(fn: (c: Chromium) => Promise<void>, args: string[] = []): Promise<void> {
      const wrapper = chromiumAsPageUser();
      const chromium = await launchChromium({
        executablePath: wrapper.bin,
        args: [`--ignore-certificate-errors-spki-list=${spki}`, ...args],
      });
      try {
        await fn(chromium);
      } finally {
        await chromium.close();
        removeDir(wrapper.dir);
      }
    }

    /** The app's console warnings per page (for a failure message). */
    const consoleOf = new WeakMap<Page, string[]>();
    const watched = async (p: Promise<Page>): Promise<Page> => {
      const page = await p;
      const lines: string[] = [];
      consoleOf.set(page, lines);
      page.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error') lines.push(`${Date.now() % 100_000} ${m.text()}`);
      });
      return page;
    };

    /** What each page knows about its media paths, for a failure message. */
    async function describePages(pages: Page[]): Promise<string> {
      const out = [];
      for (const [i, page] of pages.entries()) {
        const media = await page.getAttribute('.meeting', 'data-media');
        const tried = await page.getAttribute('.meeting', 'data-media-tried');
        out.push(`page ${i} (${await participantId(page)}): data-media=${media} tried=${tried}`);
        out.push(`  pairs ${JSON.stringify(await candidatePairs(page))}`);
        for (const x of await inboundStats(page))
          out.push(`  from ${x.participantId} ${x.kind}: packets ${x.packetsReceived} frames ${x.framesDecoded}`);
        out.push(`  sends ${JSON.stringify((await sendInfo(page)).map((x) => [x.source, x.paused]))}`);
        out.push(...(consoleOf.get(page) ?? []).map((l) => `  console: ${l}`));
      }
      return out.join('\n');
    }

    /** Every page decodes every other page's camera, and keeps decoding (the counts rise). */
    async function everyoneSeesEveryone(pages: Page[], ms: number): Promise<void> {
      try {
        await decodeAll(pages, ms);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await describePages(pages)}\n${stack.output().slice(-4000)}`);
      }
    }

    async function decodeAll(pages: Page[], ms: number): Promise<void> {
      const ids = await Promise.all(pages.map(participantId));
      for (const [i, page] of pages.entries())
        for (const [j, id] of ids.entries()) {
          if (i === j) continue;
          const first = await waitFor(
            `page ${i} to decode page ${j}`,
            async () => {
              const n = await framesFrom(page, id);
              return n > 20 ? n : 0;
            },
            ms,
            500,
          );
          await waitFor(
            `page ${i}'s frames of page ${j} to rise`,
            async () => (await framesFrom(page, id)) > first + 10,
            ms,
            500,
          );
        }
    }

    test('only TCP to port 443: a three-page meeting over TURN/TLS on 443', async (t) => {
      pageFirewall(['tcp dport 443 accept']);
      await withChromium(async (chromium) => {
        const room = `tls-${Date.now()}`;
        const pages = [
          await watched(chromium.newPage()),
          await watched(chromium.newPage()),
          await watched(chromium.newPage()),
        ];
        const t0 = Date.now();
        for (const [i, page] of pages.entries()) await joinMeeting(page, stack.edgeUrl, room, `P${i}`);
        await everyoneSeesEveryone(pages, 60_000);
        t.diagnostic(`all three decode each other ${Date.now() - t0} ms after the first join started`);
        for (const [i, page] of pages.entries()) {
          const pairs = await candidatePairs(page);
          assert.equal(pairs.length, 2);
          for (const p of pairs) {
            assert.equal(p.state, 'connected', `page ${i} ${p.direction}`);
            assert.equal(p.localType, 'relay', `page ${i} ${p.direction}: relayed (${JSON.stringify(p)})`);
            assert.equal(p.relayProtocol, 'tls', `page ${i} ${p.direction}: TURN over TLS (${JSON.stringify(p)})`);
          }
          assert.equal(await page.getAttribute('.meeting', 'data-media'), 'relay');
          assert.match((await page.getAttribute('.meeting', 'data-media-tried')) ?? '', /\bturn-tls\b/);
        }
        assert.ok(droppedPagePackets() > 0, 'the rules dropped the direct and UDP/TCP-3478 attempts');
      });
    });

    test('UDP dropped, TCP allowed: media over ICE-TCP or TURN/TCP', async (t) => {
      pageFirewall(['meta l4proto tcp accept']);
      await withChromium(async (chromium) => {
        const room = `tcp-${Date.now()}`;
        const pages = [
          await watched(chromium.newPage()),
          await watched(chromium.newPage()),
          await watched(chromium.newPage()),
        ];
        for (const [i, page] of pages.entries()) await joinMeeting(page, stack.edgeUrl, room, `P${i}`);
        await everyoneSeesEveryone(pages, 60_000);
        for (const [i, page] of pages.entries())
          for (const p of await candidatePairs(page)) {
            t.diagnostic(`page ${i} ${p.direction}: ${JSON.stringify(p)}`);
            const iceTcp = p.localType !== 'relay' && p.protocol === 'tcp';
            const turnTcp = p.localType === 'relay' && p.relayProtocol === 'tcp';
            assert.ok(iceTcp || turnTcp, `page ${i} ${p.direction}: over TCP (${JSON.stringify(p)})`);
          }
        assert.ok(droppedPagePackets() > 0, 'the rules dropped UDP');
      });
    });

    test('only an HTTP CONNECT proxy: the meeting works through it (TURN/TLS tunnelled)', {
      skip: hasTinyproxy ? false : 'tinyproxy not installed (npm run setup -- --test)',
    }, async () => {
      const proxy = await startTinyproxy(dir);
      pageFirewall([`ip daddr ${PROXY_IP} tcp dport ${PROXY_PORT} accept`]);
      try {
        // <-loopback>: Chromium would otherwise go to 127.0.0.0/8 directly, not through the proxy.
        const proxyArgs = [`--proxy-server=http://${PROXY_IP}:${PROXY_PORT}`, '--proxy-bypass-list=<-loopback>'];
        await withChromium(async (chromium) => {
          const room = `proxy-${Date.now()}`;
          const pages = [
            await watched(chromium.newPage()),
            await watched(chromium.newPage()),
            await watched(chromium.newPage()),
          ];
          for (const [i, page] of pages.entries()) await joinMeeting(page, stack.edgeUrl, room, `P${i}`);
          await everyoneSeesEveryone(pages, 60_000);
          for (const [i, page] of pages.entries())
            for (const p of await candidatePairs(page)) {
              assert.equal(p.localType, 'relay', `page ${i} ${p.direction}: relayed (${JSON.stringify(p)})`);
              assert.equal(p.relayProtocol, 'tls', `page ${i} ${p.direction}: TURN/TLS (${JSON.stringify(p)})`);
            }
        }, proxyArgs);
        assert.match(
          proxy.log(),
          new RegExp(`CONNECT ${TURN_IP.replaceAll('.', '\\.')}:443 `),
          'TURN/TLS went through the proxy',
        );
        assert.ok(droppedPagePackets() > 0, 'the rules dropped every direct attempt');
      } finally {
        proxy.stop();
      }
    });

    test('everything blocked but the edge: the page says the network blocks media within 15 s', async (t) => {
      pageFirewall(['ip daddr 127.0.0.1 tcp dport 443 accept']);
      await withChromium(async (chromium) => {
        const page = await chromium.newPage();
        await page.goto(`${stack.edgeUrl}/blocked-${Date.now()}?video=360`);
        await page.fill('#name', 'Ada');
        await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
        const clicked = Date.now();
        await page.click('#join');
        await waitFor(
          'data-media="mediaFailed" within 15 s of clicking Join',
          async () => (await page.getAttribute('.meeting', 'data-media')) === 'mediaFailed',
          15_000,
          100,
        );
        t.diagnostic(`data-media="mediaFailed" ${Date.now() - clicked} ms after clicking Join`);
        assert.equal(
          await page.getAttribute('.meeting', 'data-media-tried'),
          'udp tcp turn-udp turn-tcp turn-tls',
          'every path was tried, TURN/TLS last',
        );
      });
    });
  });
}
