/**
 * Rough edges of a first meeting (issue 15), in the meeting:
 * 6. the same name in a second tab is told so; "(You)" is never what gets cut, and the full name is a
 *    tooltip;
 * 7. the speaker view a screen share switched to goes back to the grid when the share ends (the active
 *    speaker's icon is asserted in active-speaker.test.ts);
 * 8. grid: three people's third tile is centred below the two; alone, your tile is centred; on a phone
 *    only the large tile has a pin button (a tap pins);
 * 10. chat links are links, safe ones (http/https only, rel="noopener noreferrer", no javascript:).
 * (5., media failing, is in relay-fallback.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting, participantId, PHONE } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const centreX = (page: Page, selector: string) =>
  page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return r.left + r.width / 2;
  });
const tileCount = (page: Page) => page.locator('.tile').count();

describe('rough edges: in the meeting', () => {
  const e2e = stackAndChromium();

  test('alone your tile is centred; with three the third is centred below; same name is told', async () => {
    const room = `grid-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada', { camera: false });
    const stage = await centreX(a, '#stage');
    assert.ok(Math.abs((await centreX(a, '.tile.self')) - stage) < 4, 'alone: centred');
    const b = await e2e.chromium.newPage();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { camera: false });
    // A second "Ada" (another tab, say) is told that the name is taken by someone here.
    const c = await e2e.chromium.newPage();
    await joinMeeting(c, e2e.stack.edgeUrl, room, 'Ada', { camera: false });
    await waitFor(
      'the same-name notice',
      async () => /also called Ada/.test((await c.textContent('.toasts')) ?? ''),
      5_000,
    );
    await waitFor('three tiles', async () => (await tileCount(a)) === 3, 15_000);
    await a.waitForFunction(() => document.querySelectorAll('#stage > .tile').length === 3);
    const cid = await participantId(c);
    const third = `.tile[data-participant-id="${cid}"]`;
    await waitFor('the third tile centred', async () => Math.abs((await centreX(a, third)) - stage) < 4, 5_000);
    const [first, second] = await a.$$eval('#stage > .tile', (ts) =>
      ts.slice(0, 2).map((t) => t.getBoundingClientRect().top),
    );
    const thirdTop = await a.$eval(third, (t) => t.getBoundingClientRect().top);
    assert.ok(first === second && thirdTop > first!, 'two above, one below');
  });

  test('"(You)" is not cut, the full name is a tooltip; chat links are safe links', async () => {
    const room = `names-${Date.now()}`;
    const long = 'Maximiliane Theodora von Hohenzollern-Sigmaringen';
    // On a phone, where a long name does not fit its tile.
    const a = await e2e.chromium.newPage('en-US', PHONE);
    await joinMeeting(a, e2e.stack.edgeUrl, room, long, { camera: false });
    const you = a.locator('.tile.self .you-part');
    assert.equal(await you.textContent(), ' (You)');
    const cut = await a.$eval('.tile.self .name-part', (e) => e.scrollWidth > e.clientWidth);
    const youBox = await you.boundingBox();
    const barBox = await a.locator('.tile.self .tile-bar .name').boundingBox();
    assert.ok(youBox && barBox && youBox.x + youBox.width <= barBox.x + barBox.width + 1, '(You) inside the pill');
    assert.ok(cut, 'the name is cut');
    assert.ok(youBox.width > 20, '"(You)" shown in full');
    assert.equal(await a.getAttribute('.tile.self .person-label', 'title'), `${long} (You)`);
    await a.click('#people-toggle');
    assert.equal(await a.getAttribute('.people-list .person-label', 'title'), `${long} (You)`);
    assert.equal(await a.locator('.people-list .you-part').isVisible(), true);

    await a.click('#chat-toggle');
    const text = 'see https://example.org/a?b=1, www.example.com and javascript:alert(1) or http://x.test).';
    await a.fill('#chat-input', text);
    await a.keyboard.press('Enter');
    await a.waitForSelector('.messages .msg-text');
    assert.equal(await a.textContent('.messages .msg-text'), text, 'the text is unchanged');
    const links = await a.$$eval('.messages .msg-text a', (as) =>
      as.map((x) => ({ href: x.getAttribute('href'), rel: x.getAttribute('rel'), target: x.getAttribute('target') })),
    );
    assert.deepEqual(
      links.map((l) => l.href),
      ['https://example.org/a?b=1', 'https://www.example.com/', 'http://x.test/'],
    );
    for (const l of links) {
      assert.equal(l.rel, 'noopener noreferrer');
      assert.equal(l.target, '_blank');
    }
  });

  test('the grid comes back when a share ends; on a phone only the large tile has a pin', async () => {
    const room = `share-${Date.now()}`;
    const a = await e2e.chromium.newPage();
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Adelheid Sommer', { camera: false });
    const b = await e2e.chromium.newPage('en-US', PHONE);
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { camera: false });
    await waitFor('two tiles on the phone', async () => (await tileCount(b)) === 2, 15_000);
    assert.equal(await b.locator('#stage').getAttribute('class'), 'stage grid-view');
    assert.equal(await b.locator('.tile .pin').filter({ visible: true }).count(), 0, 'no pins in the phone grid');
    await a.click('#screen-toggle');
    await waitFor(
      'the share large on the phone',
      async () => (await b.locator('.spotlight .tile.screen').count()) === 1,
      20_000,
    );
    assert.equal(await b.locator('.tile .pin').filter({ visible: true }).count(), 1, 'a pin on the large tile only');
    // The filmstrip under the share keeps names whole: no pin or quality bars take their room on a phone.
    const filmstripNames = () =>
      b.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('.filmstrip .tile-bar .name-part')]
          .filter((n) => n.offsetParent !== null)
          .map((n) => ({ text: n.textContent, cut: n.scrollWidth > n.clientWidth + 1 })),
      );
    let names: Awaited<ReturnType<typeof filmstripNames>> = [];
    await waitFor(
      'whole names in the phone filmstrip',
      async () => {
        names = await filmstripNames();
        return names.length >= 2 && names.every((n) => !n.cut);
      },
      10_000,
      100,
    ).catch(() => assert.fail(`filmstrip names on a phone: ${JSON.stringify(names)}`));
    await a.click('#screen-toggle');
    await waitFor(
      'the grid again',
      async () => (await b.locator('#stage').getAttribute('class')) === 'stage grid-view',
      20_000,
    );
    // A tap on a tile pins it on a phone.
    const aid = await participantId(a);
    await b.tap(`.tile[data-participant-id="${aid}"]`);
    await waitFor(
      'Ada large',
      async () => (await b.locator(`.spotlight .tile[data-participant-id="${aid}"]`).count()) === 1,
      5_000,
    );
  });
});
