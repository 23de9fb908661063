/**
 * Getting through firewalls (issue 4, browser side). With the media node's embedded TURN (allowed to
 * relay to loopback for this local test only):
 * - pages forced to relay (?relay=1) hold a meeting through TURN: frames decoded, the selected
 *   candidate pair is of type relay on both transports;
 * - a page that is offered only the media node's ICE-TCP candidate (?transport=tcp, as if UDP were
 *   blocked) joins and decodes over TCP;
 * - a page whose direct path fails (the test breaks the first transports' candidates in flight) falls
 *   back by itself to relay-only transports and still sees and is seen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePortBlock, startStack, type Stack } from '../support/stack.ts';
import { candidatePairs, framesFrom, joinMeeting, launchChromium, participantId, type Chromium } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('firewalls: TURN relay, ICE-TCP, fallback', () => {
  let stack: Stack;
  let chromium: Chromium;
  before(async () => {
    stack = await startStack({ runtime: 'node', workers: 1, mediaNodeEnv: { TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS: 'true' } });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });

  test('relay-only pages hold a meeting through the embedded TURN', async () => {
    const room = `relay-${Date.now()}`;
    const [a, b] = [await chromium.newPage(), await chromium.newPage()];
    await joinMeeting(a, stack.edgeUrl, room, 'Ada', { query: '?relay=1&video=360' });
    await joinMeeting(b, stack.edgeUrl, room, 'Ben', { query: '?relay=1&video=360' });
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
  });

  test('a page offered only ICE-TCP joins over TCP', async () => {
    const room = `tcp-${Date.now()}`;
    const [a, b] = [await chromium.newPage(), await chromium.newPage()];
    await joinMeeting(a, stack.edgeUrl, room, 'Ada');
    await joinMeeting(b, stack.edgeUrl, room, 'Ben', { query: '?transport=tcp&video=360' });
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('Ben (TCP) to decode Ada', async () => (await framesFrom(b, aid)) > 20, 30_000, 250);
    await waitFor('Ada to decode Ben (TCP)', async () => (await framesFrom(a, bid)) > 20, 30_000, 250);
    for (const p of await candidatePairs(b)) {
      assert.equal(p.state, 'connected');
      assert.equal(p.protocol, 'tcp', `${p.direction}: selected pair over TCP (${JSON.stringify(p)})`);
      assert.notEqual(p.localType, 'relay');
    }
  });

  test('when the direct path fails, the page falls back to TURN by itself', async (t) => {
    const room = `fallback-${Date.now()}`;
    const [a, b] = [await chromium.newPage(), await chromium.newPage()];
    await joinMeeting(a, stack.edgeUrl, room, 'Ada');
    // Ben's first two transports get candidates on a port where nothing listens: no direct path.
    // Later transports (the relay-only retry) are left alone.
    const deadPort = await freePortBlock(1);
    let broken = 0;
    await b.routeWebSocket(/\/rooms\/[^/]+\/ws$/, (ws) => {
      const server = ws.connectToServer();
      const createTransport = new Set<number>();
      ws.onMessage((m) => {
        const frame = JSON.parse(String(m)) as { id: number; method: string };
        if (frame.method === 'createTransport') createTransport.add(frame.id);
        server.send(m);
      });
      server.onMessage((m) => {
        const frame = JSON.parse(String(m)) as { id?: number; ok?: boolean; result?: { iceCandidates: { port: number }[] } };
        if (frame.ok && frame.id !== undefined && createTransport.delete(frame.id) && broken < 2) {
          broken++;
          for (const c of frame.result!.iceCandidates) c.port = deadPort;
          return ws.send(JSON.stringify(frame));
        }
        ws.send(m);
      });
    });
    const t0 = Date.now();
    await joinMeeting(b, stack.edgeUrl, room, 'Ben');
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('the fallback', async () => (await b.getAttribute('.meeting', 'data-media')) === 'relay', 30_000, 250);
    t.diagnostic(`fallback after ${Date.now() - t0} ms`);
    await waitFor('Ben to decode Ada after falling back', async () => (await framesFrom(b, aid)) > 20, 60_000, 500);
    t.diagnostic(`Ben decodes Ada ${Date.now() - t0} ms after joining`);
    await waitFor('Ada to decode Ben after his fallback', async () => (await framesFrom(a, bid)) > 20, 30_000, 500);
    t.diagnostic(`Ada decodes Ben ${Date.now() - t0} ms after he joined`);
    assert.equal(broken, 2);
    for (const p of await candidatePairs(b)) {
      assert.equal(p.policy, 'relay', `${p.direction} transport was made again relay-only`);
      assert.equal(p.localType, 'relay');
    }
    assert.equal(await b.getAttribute('.meeting', 'data-media'), 'relay', 'the page noted (and told the person) that media goes through the relay');
  });
});
