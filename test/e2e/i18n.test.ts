/**
 * Languages: the page speaks German to a German browser and English to an English one, the switch
 * changes every text at once (pre-join and meeting) and is remembered; a German meeting page shows none
 * of the English texts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

/** Every text and label the page shows or gives to screen readers. */
const pageTexts = (page: Page) =>
  page.evaluate(() => {
    const out = new Set<string>();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.textContent!.trim()) out.add(n.textContent!.trim());
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder],[data-tip]')) {
      for (const a of ['aria-label', 'title', 'placeholder', 'data-tip'])
        if (el.getAttribute(a)) out.add(el.getAttribute(a)!);
    }
    return [...out];
  });

describe('languages', () => {
  const e2e = stackAndChromium();

  test('German for a German browser, English for an English one, switchable and remembered', async () => {
    const room = `i18n-${Date.now()}`;
    const de = await e2e.chromium.newPage('de-DE');
    const en = await e2e.chromium.newPage('en-US');
    for (const page of [de, en]) {
      await page.goto(`${e2e.stack.edgeUrl}/${room}?video=360`);
      await page.waitForSelector('.prejoin[data-ready]');
    }
    assert.equal(await de.evaluate(() => document.documentElement.lang), 'de');
    assert.equal(await de.locator('.prejoin-form h1').textContent(), 'Bereit zur Teilnahme?');
    assert.equal(await de.locator('#join').textContent(), 'Teilnehmen');
    assert.equal(await de.locator('label[for="name"]').textContent(), 'Ihr Name');
    assert.equal(await en.evaluate(() => document.documentElement.lang), 'en');
    assert.equal(await en.locator('.prejoin-form h1').textContent(), 'Ready to join?');
    assert.equal(await en.locator('#join').textContent(), 'Join meeting');

    // Switch the English page to German: every text changes at once, and the choice survives a reload.
    await en.selectOption('#lang-prejoin', 'de');
    assert.equal(await en.locator('#join').textContent(), 'Teilnehmen');
    assert.equal(await en.getAttribute('#prejoin-camera', 'aria-label'), 'Kamera ausschalten');
    assert.equal(await en.evaluate(() => document.documentElement.lang), 'de');
    await en.reload();
    await en.waitForSelector('.prejoin[data-ready]');
    assert.equal(await en.locator('#join').textContent(), 'Teilnehmen', 'remembered');
    await en.selectOption('#lang-prejoin', 'en');

    // In the meeting: German throughout, and switching works there too.
    await joinMeeting(de, e2e.stack.edgeUrl, room, 'Dora');
    await joinMeeting(en, e2e.stack.edgeUrl, room, 'Eli');
    await waitFor('two tiles', async () => (await de.locator('.tile').count()) === 2, 10_000);
    await de.click('#people-toggle');
    assert.equal(await de.getAttribute('#mic-toggle', 'aria-label'), 'Mikrofon stummschalten');
    assert.equal(await de.locator('.count').textContent(), '2 Personen');
    assert.equal(await de.locator('.tile.self .name-text').textContent(), 'Dora (Sie)');
    assert.equal(await en.getAttribute('#mic-toggle', 'aria-label'), 'Mute microphone');
    assert.equal(await en.locator('.count').textContent(), '2 participants');

    // No English text on the German page (texts that are the same in both languages aside).
    const deTexts = new Set(await pageTexts(de));
    await de.selectOption('#lang-meeting', 'en');
    assert.equal(await de.getAttribute('#mic-toggle', 'aria-label'), 'Mute microphone');
    assert.equal(await de.locator('#people-panel h2').textContent(), 'Participants (2)');
    const enTexts = new Set(await pageTexts(de));
    const englishOnly = [...enTexts].filter((x) => !deTexts.has(x));
    assert.ok(englishOnly.length >= 10, `the switch changed texts: ${englishOnly.join(' | ')}`);
    await de.selectOption('#lang-meeting', 'de');
    const again = await pageTexts(de);
    assert.deepEqual(
      again.filter((x) => englishOnly.includes(x)),
      [],
      'no English left after switching back',
    );
  });
});
