/**
 * The start page's similar room name for a bad one, and the chat's link check (edge/web/start-page.ts,
 * edge/web/view/chat-links.ts; the e2e tests are rough-edges-start and rough-edges-meeting).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomName } from '../../shared/ids.ts';
import { similarRoomName } from '../../edge/web/start-page.ts';
import { safeHref } from '../../edge/web/view/chat-links.ts';

test('a similar valid room name for a bad one', () => {
  assert.equal(similarRoomName('Team Meeting!'), 'Team-Meeting');
  assert.equal(similarRoomName('a.b'), 'a-b');
  assert.equal(similarRoomName('über'), 'uber');
  assert.equal(similarRoomName('Straße'), 'Strasse');
  assert.equal(similarRoomName('--x--'), 'x');
  assert.equal(similarRoomName('y'.repeat(65)), 'y'.repeat(64));
  for (const odd of ['!!!', '', '   ', '日本語'])
    assert.ok(RoomName.safeParse(similarRoomName(odd)).success, `${odd} → ${similarRoomName(odd)}`);
});

test('only http and https addresses become links', () => {
  assert.equal(safeHref('https://example.org/a?b=1'), 'https://example.org/a?b=1');
  assert.equal(safeHref('www.example.com'), 'https://www.example.com/');
  assert.equal(safeHref('HTTP://EXAMPLE.ORG'), 'http://example.org/');
  for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd', 'https://'])
    assert.equal(safeHref(bad), null, bad);
});
