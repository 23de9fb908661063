/**
 * Getting through firewalls (issue 4, browser side). With the media node's embedded TURN in its default
 * settings and the SFU on 127.0.0.1 (no development setting: TURN relays to the SFU's own ports even on
 * loopback, issue 15):
 * - pages forced to relay (?relay=1) hold a meeting through TURN: frames decoded, the selected
 *   candidate pair is of type relay on both transports;
 * - a page that is offered only the media node's ICE-TCP candidate (?transport=tcp, as if UDP were
 *   blocked) joins and decodes over TCP.
 * The automatic fallback to relay-only transports when the direct path fails is in
 * relay-fallback.test.ts.
 */
import { describe, test } from 'node:test';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import assert from 'node:assert/strict';
import { candidatePairs, framesFrom, joinMeeting, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('firewalls: TURN relay and ICE-TCP', () => {
  const e2e = stackAndChromium();

  test('relay-only pages hold a meeting through the embedded TURN', async () => {
    const room = `relay-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada', { query: '?relay=1&video=360' });
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { query: '?relay=1&video=360' });
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('Ben to decode Ada through TURN', async () => (await framesFrom(b, aid)) > 20, 30_000, 250);
    await waitFor('Ada to decode Ben through TURN', async () => (await framesFrom(a, bid)) > 20, 30_000, 250);
    for (const page of [a, b]) {
      const pairs = await candidatePairs(page);
      assert.equal(pairs.length, 2);
      for (const p of pairs) {
        assert.equal(p.policy, 'relay');
        assert.equal(p.state, 'connected', `${p.direction} connected`);
        assert.equal(p.localType, 'relay', `${p.direction}: selected pair is relayed (${JSON.stringify(p)})`);
      }
    }
    assert.doesNotMatch(e2e.stack.output(), /turn\.peer-refused/, 'TURN refused no peer on the way to the SFU');
  });

  test('a page offered only ICE-TCP joins over TCP', async () => {
    const room = `tcp-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { query: '?transport=tcp&video=360' });
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('Ben (TCP) to decode Ada', async () => (await framesFrom(b, aid)) > 20, 30_000, 250);
    await waitFor('Ada to decode Ben (TCP)', async () => (await framesFrom(a, bid)) > 20, 30_000, 250);
    for (const p of await candidatePairs(b)) {
      assert.equal(p.state, 'connected');
      assert.equal(p.protocol, 'tcp', `${p.direction}: selected pair over TCP (${JSON.stringify(p)})`);
      assert.notEqual(p.localType, 'relay');
    }
  });
});
