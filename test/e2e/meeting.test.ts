/**
 * Three real Chromium pages (fake camera and microphone) hold a meeting through the edge and a real media
 * node: each decodes video frames and receives audio from both others; when one leaves, the others' tiles
 * for it disappear within 2 s. Once through the Node edge, once through the Worker under self-hosted
 * workerd (edge/cloudflare/workerd.capnp).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { startStack, type EdgeRuntime, type Stack } from '../support/stack.ts';
import { inboundStats, joinMeeting, launchChromium } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const participantId = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { treffpunkt: { meeting: { participantId: string } } }).treffpunkt.meeting.participantId,
  );

/** Per remote participant: video frames decoded and audio samples received, summed over consumers. */
async function mediaFrom(page: Page) {
  const byParticipant = new Map<string, { frames: number; samples: number }>();
  for (const s of await inboundStats(page)) {
    const e = byParticipant.get(s.participantId) ?? { frames: 0, samples: 0 };
    e.frames += s.framesDecoded;
    e.samples += s.totalSamplesReceived;
    byParticipant.set(s.participantId, e);
  }
  return byParticipant;
}

const RUNTIMES: EdgeRuntime[] = ['node', 'workerd-selfhosted'];

for (const runtime of RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    let chromium: Awaited<ReturnType<typeof launchChromium>>;

    before(async () => {
      stack = await startStack({ runtime, workers: 1 });
      chromium = await launchChromium();
    });
    after(async () => {
      await chromium?.close();
      await stack?.stop();
    });

    test('three browsers see and hear each other; a leaver disappears within 2 s', async () => {
      const room = `e2e-${runtime}-${Date.now()}`;
      const pages = [await chromium.newPage(), await chromium.newPage(), await chromium.newPage()];
      const names = ['Ada', 'Grace', 'Linus'];
      for (const [i, page] of pages.entries()) await joinMeeting(page, stack.edgeUrl, room, names[i]!);
      const ids = await Promise.all(pages.map(participantId));

      // Each page has a tile for every participant (its own included).
      for (const page of pages) {
        await waitFor('three tiles', async () => (await page.locator('.tile').count()) === 3, 15_000);
      }

      // Each page decodes video and receives audio from both others, and the counts keep increasing.
      for (const [i, page] of pages.entries()) {
        const others = ids.filter((_, j) => j !== i);
        const first = await waitFor(
          `page ${i} to decode video and audio from both others`,
          async () => {
            const m = await mediaFrom(page);
            return others.every((id) => (m.get(id)?.frames ?? 0) > 10 && (m.get(id)?.samples ?? 0) > 48_000)
              ? m
              : undefined;
          },
          30_000,
          250,
        );
        const later = await waitFor(
          `page ${i}'s frame counts to keep increasing`,
          async () => {
            const m = await mediaFrom(page);
            return others.every(
              (id) => m.get(id)!.frames > first.get(id)!.frames && m.get(id)!.samples > first.get(id)!.samples,
            )
              ? m
              : undefined;
          },
          10_000,
          250,
        );
        for (const id of others) assert.ok(later.get(id)!.frames > first.get(id)!.frames);
      }

      await mkdir('test-output', { recursive: true });
      await pages[0]!.screenshot({ path: `test-output/e2e-meeting-3-participants-${runtime}.png` });

      // The third page leaves: the other two lose its tile within 2 s.
      const leaverId = ids[2]!;
      await pages[2]!.click('#leave');
      const leftAt = Date.now();
      for (const page of pages.slice(0, 2)) {
        await waitFor(
          "the leaver's tile to disappear",
          async () => (await page.locator(`.tile[data-participant-id="${leaverId}"]`).count()) === 0,
          2_000,
          25,
        );
      }
      assert.ok(Date.now() - leftAt <= 2_000, `tiles disappeared after ${Date.now() - leftAt} ms`);
      for (const page of pages.slice(0, 2)) assert.equal(await page.locator('.tile').count(), 2);
    });
  });
