/**
 * Screenshots for people to look at (test-output/web-*.png): the pre-join screen, a four-person grid,
 * the speaker view, a screen share, the participant list and chat, a German page and the phone layout
 * (390×844). Also checks what a screenshot cannot be trusted to show: nothing overflows the phone's
 * width and every toolbar button is on screen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from '../support/stack.ts';
import { framesFrom, joinMeeting, launchChromium, participantId, PHONE, type Chromium } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const OUT = 'test-output';
const DESKTOP = { viewport: { width: 1280, height: 800 } };

/** A screenshot without the mouse hovering anything (no tooltips, no hover-only buttons). */
async function shot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${OUT}/${name}.png` });
}

/** Elements wider than the viewport, and toolbar buttons outside it. */
const overflow = (page: Page) =>
  page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    width: innerWidth,
    offscreen: [...document.querySelectorAll<HTMLElement>('.toolbar button, .topbar button, .topbar select')]
      .filter((b) => !b.hidden && b.offsetParent !== null)
      .filter((b) => {
        const r = b.getBoundingClientRect();
        return r.left < 0 || r.right > innerWidth || r.top < 0 || r.bottom > innerHeight;
      })
      .map((b) => b.id),
  }));

describe('screenshots', () => {
  let stack: Stack;
  let chromium: Chromium;
  before(async () => {
    stack = await startStack({ runtime: 'node', workers: 1 });
    chromium = await launchChromium();
    await mkdir(OUT, { recursive: true });
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });

  test('pre-join, grid, speaker view, screen share, panels, German, phone', async () => {
    const room = 'team-weekly';
    const a = await chromium.newPage('en-US', DESKTOP);
    const b = await chromium.newPage('en-US', DESKTOP);
    const c = await chromium.newPage('de-DE', DESKTOP);
    const d = await chromium.newPage('en-US', PHONE);

    await a.goto(`${stack.edgeUrl}/`);
    await a.waitForSelector('#room');
    await shot(a, 'web-start');
    await a.goto(`${stack.edgeUrl}/${room}?video=360`);
    await a.waitForSelector('.prejoin[data-ready]');
    await a.fill('#name', 'Ada Lovelace');
    await a.waitForTimeout(500); // the level meter moves with the fake microphone's beeps
    await shot(a, 'web-prejoin');
    await d.goto(`${stack.edgeUrl}/${room}?video=360`);
    await d.waitForSelector('.prejoin[data-ready]');
    await d.fill('#name', 'Dana Scully');
    await shot(d, 'web-phone-prejoin');
    assert.deepEqual(await overflow(d), { scrollWidth: 390, width: 390, offscreen: [] });

    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    await joinMeeting(b, stack.edgeUrl, room, 'Grace Hopper');
    await joinMeeting(c, stack.edgeUrl, room, 'Linus Torvalds', { camera: false, microphone: false });
    await joinMeeting(d, stack.edgeUrl, room, 'Dana Scully');
    const ids = await Promise.all([a, b, c, d].map(participantId));
    for (const page of [a, b, c, d])
      await waitFor('four tiles', async () => (await page.locator('.tile').count()) === 4, 15_000);
    for (const id of [ids[1]!, ids[3]!])
      await waitFor("video on Ada's page", async () => (await framesFrom(a, id)) > 10, 20_000);
    await b.click('#hand-toggle');
    await waitFor(
      "the hand on Ada's page",
      () => a.locator(`.tile[data-participant-id="${ids[1]}"] .state.hand`).isVisible(),
      5_000,
    );

    await shot(a, 'web-grid-4');
    await shot(d, 'web-phone-grid');
    assert.deepEqual(await overflow(d), { scrollWidth: 390, width: 390, offscreen: [] });
    await shot(c, 'web-german');

    await a.click('#view-toggle');
    await waitFor('the spotlight', async () => (await a.locator('.spotlight .tile').count()) === 1, 5_000);
    await a.waitForTimeout(1_000); // the high layer's first frames
    await shot(a, 'web-speaker');
    await a.click('#view-toggle');

    await a.click('#chat-toggle');
    await a.fill('#chat-input', 'Good morning! I will share the slides in a second.');
    await a.press('#chat-input', 'Enter');
    await b.click('#chat-toggle');
    await b.fill('#chat-input', 'Morning, Ada. Can we start with the budget?');
    await b.press('#chat-input', 'Enter');
    await a.click('#screen-toggle');
    await waitFor("the share on Grace's page", async () => (await framesFrom(b, ids[0]!, 'screen')) > 10, 20_000);
    await waitFor("the share on Dana's page", async () => (await framesFrom(d, ids[0]!, 'screen')) > 10, 20_000);
    await b.waitForTimeout(1_000);
    await shot(b, 'web-screen-share');
    await shot(a, 'web-presenting');
    await shot(d, 'web-phone-screen-share');
    assert.deepEqual(await overflow(d), { scrollWidth: 390, width: 390, offscreen: [] });

    await b.click('#people-toggle');
    await shot(b, 'web-participants');
    await d.click('#chat-toggle');
    await shot(d, 'web-phone-chat');
    assert.deepEqual(await overflow(d), { scrollWidth: 390, width: 390, offscreen: [] });
  });
});
