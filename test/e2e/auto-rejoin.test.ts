/**
 * A refused resume rejoins by itself (issue 13): two Chromium pages in a meeting on a Node edge that
 * keeps its rooms in memory only (TREFFPUNKT_STATE_FILE=:memory:). The edge is killed (kill -9) and
 * started again: it knows nobody, so both pages' `resume` is refused, and each joins again on its own —
 * the meeting page stays (no pre-join screen), the same names, the chat history still on the page, and
 * each decodes the other's video again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { framesFrom, joinMeeting, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

/** Names on the page's tiles, sorted. */
const tileNames = (page: Page) =>
  page.evaluate(() => [...document.querySelectorAll('.tile .name')].map((e) => e.textContent?.trim() ?? '').sort());

const chatTexts = (page: Page) => page.locator('.messages .msg-text').allTextContents();

describe('rejoining after an edge restart without state', () => {
  const e2e = stackAndChromium({ edgeEnv: { TREFFPUNKT_STATE_FILE: ':memory:' } });

  test('kill -9 and restart: both pages rejoin by themselves, keep the page and the chat, decode again', async (t) => {
    const room = `rejoin-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    const consoleLines: string[] = [];
    for (const [p, who] of [
      [a, 'Ada'],
      [b, 'Ben'],
    ] as const)
      p.on('console', (m) => void consoleLines.push(`${who}: ${m.text()}`));
    t.after(() => {
      if (consoleLines.length) t.diagnostic(consoleLines.join('\n').slice(-4000));
    });
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor(
      'both to decode each other',
      async () => (await framesFrom(b, aid)) > 10 && (await framesFrom(a, bid)) > 10,
      30_000,
      250,
    );
    await a.click('#chat-toggle');
    await a.fill('#chat-input', 'before the restart');
    await a.press('#chat-input', 'Enter');
    await b.click('#chat-toggle');
    await waitFor('Ben to get the message', async () => (await chatTexts(b)).includes('before the restart'), 10_000);
    // The meeting elements must be the very same afterwards: no pre-join screen, no page rebuilt.
    for (const p of [a, b])
      await p.evaluate(() => ((document.querySelector('.meeting') as unknown as { marked: boolean }).marked = true));
    const namesBefore = [await tileNames(a), await tileNames(b)];

    const killed = await e2e.stack.stopEdge('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const downAt = Date.now();
    await e2e.stack.startEdge();

    for (const [page, who] of [
      [a, 'Ada'],
      [b, 'Ben'],
    ] as const)
      await waitFor(
        `${who} to rejoin`,
        async () => (await page.getAttribute('.meeting', 'data-rejoins')) === '1',
        60_000,
        100,
      );
    const rejoinedAfter = Date.now() - downAt;
    const [aid2, bid2] = [await participantId(a), await participantId(b)];
    assert.notEqual(aid2, aid, 'Ada is a new participant to the new edge');
    assert.notEqual(bid2, bid);
    await waitFor(
      'each to decode the other again',
      async () => (await framesFrom(b, aid2)) > 10 && (await framesFrom(a, bid2)) > 10,
      60_000,
      250,
    );
    const decodingAfter = Date.now() - downAt;
    for (const p of [a, b]) {
      assert.equal(await p.locator('.prejoin').count(), 0, 'no pre-join screen');
      assert.equal(
        await p.evaluate(() => (document.querySelector('.meeting') as unknown as { marked?: boolean }).marked),
        true,
        'the same meeting page',
      );
      assert.equal(await p.getAttribute('.meeting', 'data-connection'), 'connected');
      assert.ok((await chatTexts(p)).includes('before the restart'), 'the chat history is still there');
    }
    await waitFor(
      'the same names on the tiles',
      async () => JSON.stringify([await tileNames(a), await tileNames(b)]) === JSON.stringify(namesBefore),
      10_000,
    );
    assert.equal(namesBefore[0]!.length, 2, 'two tiles each');
    // The new session works: a message reaches the other page.
    await b.fill('#chat-input', 'after the restart');
    await b.press('#chat-input', 'Enter');
    await waitFor('Ada to get the new message', async () => (await chatTexts(a)).includes('after the restart'), 10_000);
    t.diagnostic(`rejoined ${rejoinedAfter} ms, decoding again ${decodingAfter} ms after the kill`);
    for (const p of [a, b]) await p.context().close();
  });
});
