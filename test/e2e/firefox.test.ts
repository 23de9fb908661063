/**
 * Firefox as a first-class engine (issue 15): Debian's Firefox ESR (puppeteer-core over WebDriver BiDi)
 * and Chromium (playwright-core) in one meeting, everything real. The stack and the browsers run in a
 * network namespace of this test's own with a non-loopback address (test/support/netns.ts): the media
 * node listens there, and Firefox, which ignores loopback host candidates, connects as on a real network.
 * The pages load the edge over loopback inside the namespace (a secure context, as `localhost` is).
 *
 * Firefox runs with a window on Xvfb (also inside the namespace), because headless Firefox has no screen
 * to capture; every other test would pass headless too.
 *
 * - a Firefox page and two Chromium pages: each decodes every other's video and receives their audio;
 * - simulcast towards Firefox: the SFU switches the layer it sends Firefox as Firefox's tile changes;
 * - Firefox's socket drops: it resumes, media flows on in both directions on the same consumers;
 * - Firefox relay-only (?relay=1) through the embedded TURN: relayed pairs, media both ways;
 * - Firefox shares its screen; Chromium decodes it at full resolution; stopping removes it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { namespaceAddress, runFileInNamespace } from '../support/netns.ts';
import { startStack, type Stack } from '../support/stack.ts';
import {
  candidatePairs,
  framesFrom,
  inboundStats,
  joinMeeting,
  launchChromium,
  participantId,
  sendInfo,
  type Chromium,
  type MeetingPage,
} from '../support/browser.ts';
import { launchFirefox, type Firefox, type FirefoxPage } from '../support/firefox.ts';
import { waitFor } from '../support/poll.ts';

const address = namespaceAddress();

if (!address) {
  test('Firefox and Chromium in a network namespace of their own (the tests are reported above)', async () => {
    const run = await runFileInNamespace(fileURLToPath(import.meta.url), { tag: 'firefox', timeoutMs: 250_000 });
    assert.equal(run.code, 0, `the Firefox tests inside the namespace failed:\n${run.output.slice(-4000)}`);
    assert.match(run.output, /ℹ pass 5\b/, 'all five ran');
  });
} else {
  describe('Firefox', () => {
    let stack: Stack;
    let firefox: Firefox;
    let chromium: Chromium;
    let xvfb: ChildProcess | undefined;

    before(async () => {
      const display = await startXvfb();
      xvfb = display.process;
      stack = await startStack({ runtime: 'node', workers: 1, mediaNodeEnv: { TREFFPUNKT_NODE_LISTEN_IP: address } });
      firefox = await launchFirefox({ headless: false, env: { DISPLAY: display.name } });
      chromium = await launchChromium();
    });
    after(async () => {
      await firefox?.close();
      await chromium?.close();
      await stack?.stop();
      xvfb?.kill();
    });

    /** Audio samples received from `sender`'s microphone. */
    const samplesFrom = async (page: MeetingPage, sender: string) =>
      (await inboundStats(page))
        .filter((s) => s.participantId === sender && s.kind === 'audio')
        .reduce((n, s) => n + s.totalSamplesReceived, 0);

    /** Waits until `page` decodes `sender`'s camera and receives its audio, both still rising. */
    const receives = async (page: MeetingPage, who: string, sender: string, name: string) => {
      await waitFor(`${who} to decode ${name}`, async () => (await framesFrom(page, sender)) > 20, 60_000, 250);
      await waitFor(
        `${who} to receive ${name}'s audio`,
        async () => (await samplesFrom(page, sender)) > 0,
        30_000,
        250,
      );
      const [frames, samples] = [await framesFrom(page, sender), await samplesFrom(page, sender)];
      await waitFor(
        `${who} to keep decoding ${name}`,
        async () => (await framesFrom(page, sender)) > frames + 20,
        30_000,
      );
      await waitFor(
        `${who} to keep receiving ${name}'s audio`,
        async () => (await samplesFrom(page, sender)) > samples,
        30_000,
      );
    };

    /** Pages of a finished test go, so that the next one has the two cores to itself. */
    const closeAll = async (pages: (FirefoxPage | Page)[]) => {
      for (const p of pages) await ('puppeteer' in p ? p.close() : p.context().close()).catch(() => undefined);
    };

    test('a Firefox page and two Chromium pages: each decodes every other and hears every other', async () => {
      const room = `firefox-${Date.now()}`;
      const f = await firefox.newPage();
      const [a, b] = [await chromium.newPage(), await chromium.newPage()];
      try {
        assert.match(await f.evaluate(() => navigator.userAgent), /Firefox\/153/);
        await joinMeeting(f, stack.edgeUrl, room, 'Fritz');
        await joinMeeting(a, stack.edgeUrl, room, 'Ada');
        await joinMeeting(b, stack.edgeUrl, room, 'Ben');
        const pages = { Fritz: f, Ada: a, Ben: b } as const;
        const ids = { Fritz: await participantId(f), Ada: await participantId(a), Ben: await participantId(b) };
        for (const [who, page] of Object.entries(pages))
          for (const name of Object.keys(pages) as (keyof typeof ids)[])
            if (name !== who) await receives(page, who, ids[name], name);
        // A direct path from Firefox's address on the namespace's network, not loopback and not the relay.
        for (const p of await candidatePairs(f)) {
          assert.equal(p.state, 'connected', `Firefox ${p.direction}: ${JSON.stringify(p)}`);
          assert.equal(p.localType, 'host', `Firefox ${p.direction}: ${JSON.stringify(p)}`);
          assert.equal(p.protocol, 'udp');
        }
      } finally {
        await closeAll([f, a, b]);
      }
    });

    test('simulcast towards Firefox: the SFU sends the layer that fits its tile', async () => {
      const room = `firefox-simulcast-${Date.now()}`;
      const f = await firefox.newPage();
      const a = await chromium.newPage();
      try {
        await joinMeeting(a, stack.edgeUrl, room, 'Ada', { query: '?video=720' });
        await joinMeeting(f, stack.edgeUrl, room, 'Fritz');
        const aid = await participantId(a);
        const ada = async () => (await inboundStats(f)).find((s) => s.participantId === aid && s.source === 'camera');
        const { consumerId } = await waitFor("Firefox to receive Ada's camera", ada, 30_000);
        const layers = async () =>
          (await (await stack.controlFetch(`/v1/rooms/${room}/consumers/${consumerId}/stats`)).json()) as {
            type: string;
            currentLayers: { spatialLayer: number } | null;
          };
        assert.equal((await layers()).type, 'simulcast');
        const expectLayer = async (what: string, spatial: number) => {
          await waitFor(
            `${what}: Firefox asks for layer ${spatial}`,
            async () => (await ada())?.layer === spatial,
            15_000,
          );
          await waitFor(
            `${what}: the SFU sends Firefox layer ${spatial}`,
            async () => (await layers()).currentLayers?.spatialLayer === spatial,
            30_000,
            200,
          );
          const expected = [180, 360, 720][spatial]!;
          return waitFor(
            `${what}: Firefox decodes frames of layer ${spatial}`,
            async () => {
              const s = await ada();
              return s && s.frameHeight > expected / 2 && s.frameHeight <= expected ? s.frameHeight : undefined;
            },
            30_000,
            200,
          );
        };
        const grid = await expectLayer('two-person grid', 1);
        await f.click('#view-toggle'); // speaker view: Ada in the spotlight
        const large = await expectLayer('spotlight', 2);
        assert.ok(grid < large, `grid ${grid}p < spotlight ${large}p`);
      } finally {
        await closeAll([f, a]);
      }
    });

    test("Firefox's socket drops: it resumes, and media flows on both ways on the same consumers", async () => {
      const room = `firefox-resume-${Date.now()}`;
      const f = await firefox.newPage();
      const a = await chromium.newPage();
      try {
        await joinMeeting(f, stack.edgeUrl, room, 'Fritz');
        await joinMeeting(a, stack.edgeUrl, room, 'Ada');
        const [fid, aid] = [await participantId(f), await participantId(a)];
        await receives(f, 'Fritz', aid, 'Ada');
        await receives(a, 'Ada', fid, 'Fritz');
        const consumers = async () => (await inboundStats(f)).map((s) => s.consumerId).sort();
        const before = await consumers();
        await f.evaluate(() =>
          (
            window as unknown as { treffpunkt: { meeting: { dropConnection(): void } } }
          ).treffpunkt.meeting.dropConnection(),
        );
        await waitFor(
          'Firefox to resume',
          async () => (await f.getAttribute('.meeting', 'data-resumes')) === '1',
          30_000,
        );
        assert.equal(await f.getAttribute('.meeting', 'data-connection'), 'connected');
        assert.match(stack.output(), /participant resumed/);
        await receives(f, 'Fritz', aid, 'Ada');
        await receives(a, 'Ada', fid, 'Fritz');
        assert.deepEqual(await consumers(), before, 'the consumers were kept, not made again');
      } finally {
        await closeAll([f, a]);
      }
    });

    test('Firefox relay-only through the embedded TURN', async () => {
      const room = `firefox-relay-${Date.now()}`;
      const f = await firefox.newPage();
      const a = await chromium.newPage();
      try {
        await joinMeeting(f, stack.edgeUrl, room, 'Fritz', { query: '?relay=1&video=360' });
        await joinMeeting(a, stack.edgeUrl, room, 'Ada');
        const [fid, aid] = [await participantId(f), await participantId(a)];
        await receives(f, 'Fritz', aid, 'Ada');
        await receives(a, 'Ada', fid, 'Fritz');
        const pairs = await candidatePairs(f);
        assert.equal(pairs.length, 2);
        for (const p of pairs) {
          assert.equal(p.policy, 'relay');
          assert.equal(p.state, 'connected', `${p.direction}: ${JSON.stringify(p)}`);
          assert.equal(p.localType, 'relay', `${p.direction}: selected pair is relayed (${JSON.stringify(p)})`);
        }
        assert.doesNotMatch(stack.output(), /turn\.peer-refused/, 'TURN refused no peer on the way to the SFU');
      } finally {
        await closeAll([f, a]);
      }
    });

    test('Firefox shares its screen; Chromium decodes it at full resolution; stopping removes it', async () => {
      const room = `firefox-share-${Date.now()}`;
      const f = await firefox.newPage();
      const a = await chromium.newPage();
      try {
        await joinMeeting(f, stack.edgeUrl, room, 'Fritz');
        await joinMeeting(a, stack.edgeUrl, room, 'Ada');
        const fid = await participantId(f);
        await f.click('#screen-toggle');
        const share = `.tile.screen[data-participant-id="${fid}"]`;
        await waitFor("the share tile on Ada's page", async () => (await a.locator(share).count()) === 1, 30_000);
        await waitFor('Ada to decode the share', async () => (await framesFrom(a, fid, 'screen')) > 20, 30_000, 250);
        const screen = (await sendInfo(f)).find((s) => s.source === 'screen')!;
        assert.equal(screen.contentHint, 'text');
        assert.equal(screen.encodings.length, 1, 'one layer');
        assert.deepEqual([screen.width, screen.height], [XVFB_WIDTH, XVFB_HEIGHT], "Xvfb's whole screen");
        await waitFor(
          'the share at full resolution',
          async () =>
            (await inboundStats(a)).find(
              (s) => s.source === 'screen' && s.frameWidth === XVFB_WIDTH && s.frameHeight === XVFB_HEIGHT,
            ),
          30_000,
          250,
        );
        await f.click('#screen-toggle');
        await waitFor(
          "the share to disappear on Ada's page",
          async () => (await a.locator(share).count()) === 0,
          15_000,
        );
      } finally {
        await closeAll([f, a]);
      }
    });
  });
}

const XVFB_WIDTH = 1280;
const XVFB_HEIGHT = 720;

/** Xvfb inside the namespace; -displayfd lets it pick a free display number. */
async function startXvfb(): Promise<{ name: string; process: ChildProcess }> {
  const x = spawn('Xvfb', ['-displayfd', '1', '-nolisten', 'tcp', '-screen', '0', `${XVFB_WIDTH}x${XVFB_HEIGHT}x24`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const number = await new Promise<string>((resolve, reject) => {
    x.stdout!.once('data', (d) => resolve(String(d).trim()));
    x.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
  });
  return { name: `:${number}`, process: x };
}
