/**
 * Accessibility: axe-core (run inside the page) finds no serious or critical violation on the pre-join
 * screen and in a meeting with three participants (grid, speaker view, participant list, chat, phone
 * layout); every control is reached with Tab, has a name and a visible focus indicator, and works with
 * the keyboard; joins, leaves and chat are announced through the live region.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { axe, joinMeeting, PHONE } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

async function assertNoSeriousViolations(page: Page, where: string): Promise<void> {
  const violations = (await axe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe on ${where}`,
  );
}

/** Tabs through the page; for each stop: what it is, its accessible name (roughly) and its focus outline. */
async function tabStops(page: Page, max = 60) {
  // Start at the top of the page: focus a temporary element before everything, then remove it.
  await page.evaluate(() => {
    const start = document.createElement('span');
    start.tabIndex = -1;
    document.body.prepend(start);
    start.focus();
    start.remove();
  });
  const stops: { id: string; tag: string; name: string; outline: string }[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const labelledBy = el.getAttribute('aria-labelledby');
      const name =
        el.getAttribute('aria-label') ??
        (labelledBy ? document.getElementById(labelledBy)?.textContent : null) ??
        (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ??
        el.textContent ??
        '';
      return {
        id: el.id || el.className,
        tag: el.tagName,
        name: name.trim(),
        outline: `${cs.outlineStyle} ${cs.outlineWidth}`,
      };
    });
    if (!stop || stops.some((s) => s.id === stop.id && s.tag === stop.tag && s.name === stop.name)) break;
    stops.push(stop);
  }
  return stops;
}

describe('accessibility', () => {
  const e2e = stackAndChromium();

  test('pre-join screen: no serious violations, every control named and focus visible', async () => {
    const page = await e2e.chromium.newPage();
    await page.goto(`${e2e.stack.edgeUrl}/a11y-prejoin?video=360`);
    await page.waitForSelector('.prejoin[data-ready]');
    await assertNoSeriousViolations(page, 'the pre-join screen');
    const stops = await tabStops(page);
    const ids = stops.map((s) => s.id);
    for (const id of ['lang-prejoin', 'prejoin-mic', 'prejoin-camera', 'name', 'camera-select', 'mic-select', 'join'])
      assert.ok(ids.includes(id), `${id} reachable with Tab (stops: ${ids.join(', ')})`);
    for (const s of stops) {
      assert.ok(s.name.length > 0, `${s.tag}#${s.id} has a name`);
      assert.notEqual(s.outline.split(' ')[0], 'none', `${s.tag}#${s.id} shows focus`);
    }
    // The camera can be switched off from the keyboard.
    await page.focus('#prejoin-camera');
    await page.keyboard.press('Enter');
    await waitFor(
      'the camera to be off',
      async () => (await page.getAttribute('#prejoin-camera', 'aria-label')) === 'Turn camera on',
      5_000,
    );
    await page.context().close();
  });

  test('meeting with three participants: no serious violations, keyboard operable, announcements', async () => {
    const room = `a11y-${Date.now()}`;
    const [a, b, c] = [await e2e.chromium.newPage(), await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    await waitFor(
      'the join announced to Ada',
      async () => (await a.locator('#announcer').textContent())!.includes('Ben joined'),
      10_000,
    );
    await joinMeeting(c, e2e.stack.edgeUrl, room, 'Cleo', { camera: false });
    await waitFor('three tiles', async () => (await a.locator('.tile').count()) === 3, 10_000);
    await assertNoSeriousViolations(a, 'the meeting (grid)');

    // Keyboard: every toolbar and top-bar control is a named Tab stop with a visible focus ring.
    const stops = await tabStops(a);
    const ids = stops.map((s) => s.id);
    for (const id of [
      'invite',
      'view-toggle',
      'lang-meeting',
      'mic-toggle',
      'camera-toggle',
      'screen-toggle',
      'hand-toggle',
      'people-toggle',
      'chat-toggle',
      'leave',
    ])
      assert.ok(ids.includes(id), `${id} reachable with Tab (stops: ${ids.join(', ')})`);
    for (const s of stops) {
      assert.ok(s.name.length > 0, `${s.tag}#${s.id} has a name`);
      assert.notEqual(s.outline.split(' ')[0], 'none', `${s.tag}#${s.id} shows focus`);
    }
    // Operated by keyboard: raise the hand with Space, open the chat with Enter and send with Enter.
    await a.focus('#hand-toggle');
    await a.keyboard.press('Space');
    await waitFor(
      'the hand raised',
      async () => (await a.getAttribute('#hand-toggle', 'aria-label')) === 'Lower hand',
      5_000,
    );
    await a.focus('#chat-toggle');
    await a.keyboard.press('Enter');
    assert.equal(await a.evaluate(() => document.activeElement?.id), 'chat-input');
    await a.keyboard.type('Can everyone hear me?');
    await a.keyboard.press('Enter');
    await waitFor(
      'the chat announced to Ben',
      async () => (await b.locator('#announcer').textContent())!.includes('Ada: Can everyone hear me?'),
      10_000,
    );
    await assertNoSeriousViolations(a, 'the meeting with the chat open');
    // Escape closes the panel and gives the focus back to its button.
    await a.keyboard.press('Escape');
    assert.equal(await a.evaluate(() => document.activeElement?.id), 'chat-toggle');
    await a.click('#people-toggle');
    await assertNoSeriousViolations(a, 'the meeting with the participant list open');
    await a.click('#people-toggle');
    await a.click('#view-toggle');
    await assertNoSeriousViolations(a, 'the speaker view');

    // The phone layout of a fourth participant.
    const d = await e2e.chromium.newPage('en-US', PHONE);
    await joinMeeting(d, e2e.stack.edgeUrl, room, 'Dana');
    await waitFor('four tiles', async () => (await d.locator('.tile').count()) === 4, 10_000);
    await assertNoSeriousViolations(d, 'the phone layout');

    await c.click('#leave');
    await waitFor(
      'the leave announced',
      async () => (await a.locator('#announcer').textContent())!.includes('Cleo left'),
      10_000,
    );
  });
});
