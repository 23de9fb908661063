/**
 * Rough edges of a first meeting (issue 15), the start page and room addresses:
 * 1. the room field's pattern compiles (browsers use the `v` flag), "Team Meeting!" is answered with a
 *    reason and a similar valid name, and bad room addresses get the app's friendly page (status 404),
 *    not a raw JSON error;
 * 10. the German start page proposes German room names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stackAndChromium } from '../support/e2e-fixture.ts';

describe('rough edges: start page and room addresses', () => {
  const e2e = stackAndChromium();

  test('the room pattern is valid, and an invalid name is explained with a similar one to open', async () => {
    const page = await e2e.chromium.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${e2e.stack.edgeUrl}/`);
    await page.waitForSelector('#room');
    // A pattern that does not compile makes every value "valid" (and Chromium logs the error).
    assert.equal(await page.$eval('#room', (i) => (i as HTMLInputElement).validity.valid), true);
    await page.fill('#room', 'Team Meeting!');
    assert.equal(await page.$eval('#room', (i) => (i as HTMLInputElement).validity.patternMismatch), true);
    await page.click('button[type=submit]');
    assert.match((await page.textContent('#room-error')) ?? '', /only letters, digits, - and _/);
    assert.equal(await page.inputValue('#room'), 'Team-Meeting');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/Team-Meeting$/);
    await page.waitForSelector('.prejoin');
    assert.deepEqual(
      errors.filter((e) => /pattern|regular expression/i.test(e)),
      [],
    );
  });

  for (const [path, similar] of [
    ['/Team%20Meeting!', 'Team-Meeting'],
    ['/a.b', 'a-b'],
    [`/${'x'.repeat(65)}`, 'x'.repeat(64)],
    ['/%C3%BCber', 'uber'],
  ] as const) {
    test(`a bad room address (${path.slice(0, 20)}) gets a friendly page`, async () => {
      const page = await e2e.chromium.newPage();
      const res = await page.goto(`${e2e.stack.edgeUrl}${path}`);
      assert.equal(res?.status(), 404);
      assert.match(res?.headers()['content-type'] ?? '', /text\/html/);
      await page.waitForSelector('#bad-room');
      assert.match((await page.textContent('#bad-room')) ?? '', /is not a room address/);
      assert.equal(await page.inputValue('#room'), similar);
      // Programs still get the JSON error.
      const api = await fetch(`${e2e.stack.edgeUrl}${path}`);
      assert.equal(api.status, 404);
      assert.match(api.headers.get('content-type') ?? '', /json/);
    });
  }

  test('the German start page proposes a German room name', async () => {
    const page = await e2e.chromium.newPage('de-DE');
    await page.goto(`${e2e.stack.edgeUrl}/`);
    assert.match(await page.inputValue('#room'), /^raum-[a-z0-9]{6}$/);
    const en = await e2e.chromium.newPage('en-US');
    await en.goto(`${e2e.stack.edgeUrl}/`);
    assert.match(await en.inputValue('#room'), /^room-[a-z0-9]{6}$/);
  });
});
