/**
 * Self-contained: during a whole meeting (start page, pre-join, join, chat, screen share, panels,
 * language switch, leave) every request the page makes, WebSockets included, goes to the edge's own
 * origin, and the page's CSP (self only, no inline code) reports no violation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting, participantId, framesFrom } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('self-contained page', () => {
  const e2e = stackAndChromium();

  const record = async (page: Page) => {
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('websocket', (ws) => urls.push(ws.url()));
    // Collected in the page, where the CSP reports them (init scripts are not subject to the CSP).
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(
          `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
        ),
      );
    });
    return urls;
  };

  test('every request of a whole meeting goes to the edge', async () => {
    const origin = new URL(e2e.stack.edgeUrl);
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    const urlsA = await record(a);
    const urlsB = await record(b);

    // Ada starts from the start page and opens a room there.
    await a.goto(`${e2e.stack.edgeUrl}/`);
    const room = await a.inputValue('#room');
    await a.click('.card button[type="submit"]');
    await a.waitForURL(`${e2e.stack.edgeUrl}/${room}`);
    await a.waitForSelector('.prejoin[data-ready]');
    await a.fill('#name', 'Ada');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const aid = await participantId(a);
    await waitFor('Ben to see Ada', async () => (await framesFrom(b, aid)) > 10, 20_000);

    await a.click('#chat-toggle');
    await a.fill('#chat-input', 'hello');
    await a.press('#chat-input', 'Enter');
    await a.click('#screen-toggle');
    await waitFor('Ben to see the share', async () => (await framesFrom(b, aid, 'screen')) > 5, 20_000);
    await b.click('#people-toggle');
    await b.selectOption('#lang-meeting', 'de');
    await a.click('#invite');
    await a.click('#screen-toggle');
    await a.click('#leave');
    await a.waitForSelector('.prejoin');
    await b.click('#leave');
    await b.waitForSelector('.prejoin');

    for (const [who, urls] of [
      ['Ada', urlsA],
      ['Ben', urlsB],
    ] as const) {
      assert.ok(
        urls.some((u) => u.startsWith('ws://')),
        `${who}: the room WebSocket was recorded`,
      );
      assert.ok(
        urls.some((u) => /\/assets\/app-[A-Z0-9]+\.js$/.test(u)),
        `${who}: the app was recorded`,
      );
      const foreign = urls.filter((u) => {
        const url = new URL(u);
        if (url.protocol === 'data:' || url.protocol === 'blob:') return false; // never leaves the page
        return url.host !== origin.host || !['http:', 'ws:'].includes(url.protocol);
      });
      assert.deepEqual(foreign, [], `${who}: requests to other origins`);
    }
    for (const page of [a, b])
      assert.deepEqual(
        await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations),
        [],
        'no CSP violations',
      );
  });
});
