/**
 * Meetings that survive, in real Chromium with real media node processes of different operators: a room
 * whose pages sit on two nodes (media piped between them over SRTP), and a 3-page meeting whose node is
 * killed (`kill -9`), frozen (`SIGSTOP`) or drained (SIGTERM, make-before-break) mid-meeting. Measured: the time from the
 * node's end to every page decoding every other page's video again (printed; the bound asserted is loose,
 * the figures over several runs are in docs/benchmarks.md, `npm run bench:failover`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startStack, type Stack, type StackNode } from '../support/stack.ts';
import { joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import {
  consumedProducers,
  everyoneDecodesAgain,
  handovers,
  nodeCarrying,
  rosterSize,
} from '../support/media-recovery.ts';
import { waitFor } from '../support/poll.ts';

/**
 * The default settings (issue 14): the heartbeat timeout stays 4.5 s, and the node link finds a killed
 * node at once and a frozen one within about 2 s (docs/multi-node.md). The tests once lowered the
 * timeout to 2 s to get through in time; lower ones made a loaded node look lost. A silent link moves the
 * room make-before-break within about 1 s, before the health check's verdict.
 */
const EDGE_ENV: Record<string, string> = {};
/** Generous, so that a loaded 2-core machine passes; the measured time is printed and benchmarked. */
const RECOVERY_BOUND_MS = 20_000;

describe('failover and rooms across nodes (Node edge, real Chromium)', () => {
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  const stacks: Stack[] = [];
  before(async () => {
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await Promise.all(stacks.map((s) => s.stop()));
  });

  async function meeting(stack: Stack, room: string, regions: string[]) {
    const pages: Page[] = [];
    for (const [i, region] of regions.entries()) {
      const page = await chromium.newPage();
      page.on('console', (m) => m.type() === 'warning' && console.log(`page ${i}: ${m.text().slice(0, 200)}`));
      await joinMeeting(page, stack.edgeUrl, room, `P${i}`, { query: `?video=360&region=${region}` });
      pages.push(page);
    }
    const ids = await Promise.all(pages.map(participantId));
    await everyoneDecodesAgain(pages, ids, new Set(), 60_000);
    return { pages, ids };
  }

  async function closePages(pages: Page[]) {
    for (const p of pages) await p.context().close();
  }

  test('pages pinned to two nodes decode each other; the inter-node pipe is SRTP', async () => {
    const stack = await startStack({
      nodes: [
        { nodeId: 'node-a', operator: 'op-a', region: 'north' },
        { nodeId: 'node-b', operator: 'op-b', region: 'south' },
      ],
      edgeEnv: EDGE_ENV,
    });
    stacks.push(stack);
    const room = `across-${Date.now()}`;
    const { pages } = await meeting(stack, room, ['north', 'south', 'south']);
    const [a, b] = stack.mediaNodes as [StackNode, StackNode];
    for (const [node, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const stats = (await (await node.controlFetch(`/v1/rooms/${room}/pipes/${peer.nodeId}/stats`)).json()) as {
        srtpCryptoSuite: string | null;
        pipedOut: number;
        rtpBytesSent: number;
      };
      assert.ok(stats.srtpCryptoSuite, `the ${node.nodeId} → ${peer.nodeId} pipe is SRTP (${stats.srtpCryptoSuite})`);
      assert.ok(stats.rtpBytesSent > 0, `${node.nodeId} sends media into the pipe`);
      // north has one page (camera + microphone), south two: each producer crosses once.
      assert.equal(stats.pipedOut, node === a ? 2 : 4, `${node.nodeId} pipes each of its producers once`);
    }
    await closePages(pages);
  });

  for (const how of ['SIGKILL', 'SIGSTOP'] as const) {
    test(`${how === 'SIGKILL' ? 'kill -9' : 'SIGSTOP'} of the node of a 3-page meeting: everyone decodes everyone again, nobody leaves`, async () => {
      const stack = await startStack({
        nodes: [
          { nodeId: 'node-a', operator: 'op-a', region: 'north' },
          { nodeId: 'node-b', operator: 'op-b', region: 'north' },
          { nodeId: 'node-c', operator: 'op-c', region: 'north' },
        ],
        edgeEnv: EDGE_ENV,
      });
      stacks.push(stack);
      const { pages, ids } = await meeting(stack, `failover-${how}-${Date.now()}`, ['north', 'north', 'north']);
      const a = await nodeCarrying(stack);
      const old = await consumedProducers(pages);
      const t0 = Date.now();
      a.process.kill(how);
      try {
        await everyoneDecodesAgain(pages, ids, old, RECOVERY_BOUND_MS);
        const ms = Date.now() - t0;
        console.log(`${how}: every page decodes every other page's video again ${ms} ms after the signal`);
        for (const page of pages) {
          assert.equal(await rosterSize(page), 3, 'nobody left the participant list');
          assert.equal(await page.locator('.tile').count(), 3);
          // Every node runs the same codecs: the page kept its device (media-session.ts #deviceFor).
          const loads = await page.evaluate(() => performance.getEntriesByName('treffpunkt:device-loaded').length);
          assert.equal(loads, 1, 'the device loaded once, at the join');
        }
        // A closed link is a dead node: break-before-make. A silent one may still forward media (its
        // mediasoup workers run on): the room hands over make-before-break, and each page ends its old
        // media once (when its new consumers decoded, or at the verdict: lost).
        await waitFor(
          'every page to have ended its old media as the move asked',
          async () => (await Promise.all(pages.map(handovers))).every((h) => h.length === (how === 'SIGSTOP' ? 1 : 0)),
          RECOVERY_BOUND_MS,
        );
      } finally {
        if (how === 'SIGSTOP') a.process.kill('SIGCONT');
      }
      await closePages(pages);
    });
  }

  test('SIGTERM drains the node make-before-break: every page decodes the new media before its old transports close', async () => {
    const stack = await startStack({
      nodes: [
        { nodeId: 'node-a', region: 'north' },
        { nodeId: 'node-b', region: 'north' },
      ],
      // The order is what is asserted, not how fast: a loaded machine gets all the time it needs to decode
      // the new media before the room would close the old one without waiting (the deadline's job).
      edgeEnv: { ...EDGE_ENV, TREFFPUNKT_HANDOVER_DEADLINE_MS: '120000' },
      mediaNodeEnv: { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '180000' },
    });
    stacks.push(stack);
    const { pages, ids } = await meeting(stack, `drain-${Date.now()}`, ['north', 'north', 'north']);
    const a = await nodeCarrying(stack);
    const old = await consumedProducers(pages);
    const exited = new Promise<number>((r) => a.process.once('exit', () => r(Date.now())));
    const t0 = Date.now();
    a.process.kill('SIGTERM');
    await everyoneDecodesAgain(pages, ids, old, RECOVERY_BOUND_MS);
    const gap = Date.now() - t0;
    const exitedAt = await exited;
    console.log(
      `drain: every page decodes every other page's video again ${gap} ms after SIGTERM; the node exited after ${exitedAt - t0} ms`,
    );
    assert.match(stack.output(), /"how":"empty"/, 'the node exited because the room had left it');
    for (const page of pages) assert.equal(await rosterSize(page), 3);
    // The order make-before-break promises, as each page saw it: when its old transports ended, every
    // remote source it played there (2 others × microphone and camera) had been taken over by a new
    // consumer that had decoded.
    await waitFor(
      'every page to record the end of its old media',
      async () => (await Promise.all(pages.map(handovers))).every((h) => h.length === 1),
      120_000,
    );
    const all = await Promise.all(pages.map(handovers));
    for (const [i, page] of pages.entries()) {
      const [h] = all[i]!;
      assert.deepEqual(
        { sources: h!.sources, decodedBeforeOldEnd: h!.decodedBeforeOldEnd },
        { sources: 4, decodedBeforeOldEnd: 4 },
        `page ${i}: every new consumer decoded before the old transports ended (${JSON.stringify(all)})`,
      );
      assert.equal(await page.locator('.tile').count(), 3);
    }
    assert.match(stack.output(), /handover off a draining media node ends/);
    assert.match(stack.output(), /"timedOut":false/, 'every page said mediaMoveDone before the deadline');
    await closePages(pages);
  });
});
