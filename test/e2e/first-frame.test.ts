/**
 * The way to the first frame (issue 14), in real Chromium: both of a page's transports are connected on
 * the media node right after they are made, with the page's own DTLS certificate
 * (edge/web/meeting/dtls-identity.ts), and media flows through them; the page marks the steps of
 * joining on its performance timeline (edge/web/timeline.ts) in the order they happen, which is what
 * the browser benchmark reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { framesFrom, joinMeeting, participantId } from '../support/browser.ts';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { waitFor } from '../support/poll.ts';

const e2e = stackAndChromium();

const connectedAhead = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { treffpunkt: { meeting: { transportsConnectedAhead: number } } }).treffpunkt.meeting
        .transportsConnectedAhead,
  );

/** The first time (page clock) of each of the app's marks. */
const marks = (page: Page) =>
  page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const m of performance.getEntriesByType('mark'))
      if (m.name.startsWith('treffpunkt:')) out[m.name.slice('treffpunkt:'.length)] ??= m.startTime;
    return out;
  });

test('both transports are connected ahead with the page certificate, and the pages see each other', async () => {
  const room = `e2e-first-frame-${Date.now()}`;
  const pages = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
  for (const [i, page] of pages.entries()) await joinMeeting(page, e2e.stack.edgeUrl, room, `P${i}`);
  const ids = await Promise.all(pages.map(participantId));
  for (const [i, page] of pages.entries())
    await waitFor(`page ${i} to decode the other`, async () => (await framesFrom(page, ids[1 - i]!)) > 0, 30_000);

  for (const [i, page] of pages.entries()) {
    // Counted when mediasoup-client's 'connect' carried the fingerprint the node was given ahead.
    assert.equal(await connectedAhead(page), 2, `page ${i}: send and recv transport connected ahead`);
    const m = await marks(page);
    const order = ['devices-ready', 'join-click', 'socket-open', 'join-reply', 'media-started', 'recv-connected'];
    for (const step of order) assert.ok(m[step] !== undefined, `page ${i} marked ${step}`);
    for (let k = 1; k < order.length; k++)
      assert.ok(m[order[k]!]! >= m[order[k - 1]!]!, `page ${i}: ${order[k]} after ${order[k - 1]}`);
    assert.ok(
      m['send-connected'] !== undefined && m['send-connected'] >= m['media-started']!,
      `page ${i}: send-connected`,
    );
  }
});
