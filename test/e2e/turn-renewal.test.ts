/**
 * A meeting outlives its TURN credentials: an allocation ends with the credential that made it (the
 * media node enforces that), so the page renews its credentials before they expire — an ICE restart
 * whose answer brings new ones — and relayed media keeps flowing. Here the credentials live 60 s (the
 * edge's minimum); Ben sends and receives only through the embedded TURN relay (?relay=1) and the test
 * watches frames keep being decoded in both directions well past the first credentials' expiry.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import { candidatePairs, framesFrom, joinMeeting, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

const TTL_SECONDS = 60;

const renewals = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { treffpunkt: { meeting: { turnRenewals: number } } }).treffpunkt.meeting.turnRenewals,
  );

describe('TURN credential renewal', () => {
  const e2e = stackAndChromium({
    edgeEnv: { TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS: String(TTL_SECONDS) },
    mediaNodeEnv: { TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS: 'true' },
  });

  test("relayed media keeps flowing past the credentials' expiry", async (t) => {
    const room = `renewal-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
    const joinedAt = Date.now();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben', { query: '?relay=1&video=360' });
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('Ben to decode Ada through the relay', async () => (await framesFrom(b, aid)) > 20, 90_000, 500);
    await waitFor('Ada to decode Ben through the relay', async () => (await framesFrom(a, bid)) > 20, 90_000, 500);
    for (const p of await candidatePairs(b)) assert.equal(p.localType, 'relay', `${p.direction} transport relayed`);

    // Past the expiry of the first credentials (and of every allocation made with them), with margin.
    await waitFor(
      'the first credentials to have expired',
      () => Date.now() > joinedAt + (TTL_SECONDS + 10) * 1000,
      (TTL_SECONDS + 30) * 1000,
      1_000,
    );
    assert.ok((await renewals(b)) >= 2, 'both transports renewed their credentials');
    const before = { fromAda: await framesFrom(b, aid), fromBen: await framesFrom(a, bid) };
    await waitFor(
      'Ben to keep decoding Ada',
      async () => (await framesFrom(b, aid)) > before.fromAda + 30,
      30_000,
      500,
    );
    await waitFor(
      'Ada to keep decoding Ben',
      async () => (await framesFrom(a, bid)) > before.fromBen + 30,
      30_000,
      500,
    );
    for (const p of await candidatePairs(b)) {
      assert.equal(p.policy, 'relay');
      assert.equal(p.localType, 'relay', `${p.direction} transport still relayed`);
    }
    assert.notEqual(await b.getAttribute('.meeting', 'data-media'), 'mediaFailed', 'no media failure shown');
    t.diagnostic(`renewals: ${await renewals(b)} after ${Math.round((Date.now() - joinedAt) / 1000)} s`);
  });
});
