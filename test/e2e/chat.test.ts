/**
 * Chat through the room: a message from one page shows on the other with the sender's name and the
 * time, is announced to screen readers and counted as unread while the panel is closed; the room keeps
 * no history (a late joiner and a re-joiner see nothing of it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { joinMeeting } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('chat', () => {
  const e2e = stackAndChromium();

  test('A sends, B shows name, time and text; nothing is kept', async () => {
    const room = `chat-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada', { camera: false });
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { camera: false });

    await a.click('#chat-toggle');
    assert.equal(
      await a.evaluate(() => document.activeElement?.id),
      'chat-input',
      'opening the chat focuses the message field',
    );
    const text = 'Agenda: 1. Budget\n2. Dates <b>not bold</b>';
    await a.fill('#chat-input', text);
    await a.press('#chat-input', 'Enter');

    // B: the message is there (the panel is closed), counted unread, and announced.
    const msg = b.locator('.messages .msg').first();
    await waitFor('B to receive the message', async () => (await b.locator('.messages .msg').count()) === 1, 10_000);
    assert.equal(await msg.locator('.msg-name').textContent(), 'Ada');
    assert.equal(await msg.locator('.msg-text').textContent(), text, 'text shown as text (line breaks kept, no HTML)');
    assert.equal(await msg.locator('.msg-text b').count(), 0);
    const datetime = await msg.locator('time').getAttribute('datetime');
    assert.ok(Math.abs(Date.parse(datetime!) - Date.now()) < 60_000, `message time ${datetime} is now`);
    assert.match((await msg.locator('time').textContent())!, /^\d{1,2}:\d{2}([\s\u202f][AP]M)?$/);
    assert.equal(await b.locator('#chat-toggle .badge').textContent(), '1');
    assert.match((await b.getAttribute('#chat-toggle', 'aria-label'))!, /1 unread message/);
    await waitFor(
      'the announcement',
      async () => (await b.locator('#announcer').textContent())!.includes('Ada: Agenda'),
      5_000,
    );

    // B opens the chat: unread cleared, the message visible; B answers and A sees both in order.
    await b.click('#chat-toggle');
    assert.equal(await b.locator('#chat-toggle .badge').isHidden(), true);
    assert.equal(await msg.isVisible(), true);
    await b.fill('#chat-input', 'Thanks!');
    await b.click('#chat-send');
    await waitFor('A to see both messages', async () => (await a.locator('.messages .msg').count()) === 2, 10_000);
    assert.deepEqual(await a.locator('.messages .msg-name').allTextContents(), ['Ada (You)', 'Ben']);
    assert.equal(await a.locator('.messages .msg').nth(1).locator('.msg-text').textContent(), 'Thanks!');

    // A late joiner sees no history; so does A after leaving and joining again.
    const c = await e2e.chromium.newPage();
    await joinMeeting(c, e2e.stack.edgeUrl, room, 'Cleo', { camera: false });
    await c.click('#chat-toggle');
    assert.equal(await c.locator('.messages .msg').count(), 0);
    assert.equal(await c.locator('.chat-empty').isVisible(), true);
    await a.click('#leave');
    await a.waitForSelector('.prejoin');
    await a.click('#join');
    await a.waitForSelector('.meeting .stage');
    await a.click('#chat-toggle');
    assert.equal(await a.locator('.messages .msg').count(), 0, 'no history after leaving');
  });
});
