/**
 * The automatic fallback to TURN (issue 4, browser side): a page whose direct path to the media node
 * fails — the test breaks the candidates of its first two transports in flight, so ICE can never
 * connect — makes its transports again relay-only (iceTransportPolicy 'relay', the media node's
 * embedded TURN in its default settings, the SFU on 127.0.0.1; issue 15), produces
 * and consumes again, and still sees and is seen. Waits are generous: on a loaded machine ICE failure and the retry are slow.
 */
import { describe, test } from 'node:test';
import { stackAndChromium } from '../support/e2e-fixture.ts';
import assert from 'node:assert/strict';
import { freePortBlock } from '../support/stack.ts';
import { candidatePairs, framesFrom, joinMeeting, participantId } from '../support/browser.ts';
import { waitFor } from '../support/poll.ts';

describe('relay fallback', () => {
  const e2e = stackAndChromium();

  test('when the direct path fails, the page falls back to TURN by itself', async (t) => {
    const room = `fallback-${Date.now()}`;
    const [a, b] = [await e2e.chromium.newPage(), await e2e.chromium.newPage()];
    await joinMeeting(a, e2e.stack.edgeUrl, room, 'Ada');
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
        const frame = JSON.parse(String(m)) as {
          id?: number;
          ok?: boolean;
          result?: { iceCandidates: { port: number }[] };
        };
        if (frame.ok && frame.id !== undefined && createTransport.delete(frame.id) && broken < 2) {
          broken++;
          for (const c of frame.result!.iceCandidates) c.port = deadPort;
          return ws.send(JSON.stringify(frame));
        }
        ws.send(m);
      });
    });
    const t0 = Date.now();
    await joinMeeting(b, e2e.stack.edgeUrl, room, 'Ben');
    const [aid, bid] = [await participantId(a), await participantId(b)];
    await waitFor('the fallback', async () => (await b.getAttribute('.meeting', 'data-media')) !== null, 90_000, 250);
    assert.equal(
      await b.getAttribute('.meeting', 'data-media'),
      'relay',
      'the page falls back (and tells the person), it does not give up',
    );
    t.diagnostic(`fallback ${Date.now() - t0} ms after Ben started joining`);
    await waitFor('Ben to decode Ada after falling back', async () => (await framesFrom(b, aid)) > 20, 90_000, 500);
    await waitFor('Ada to decode Ben after his fallback', async () => (await framesFrom(a, bid)) > 20, 90_000, 500);
    t.diagnostic(`both directions decoded ${Date.now() - t0} ms after Ben started joining`);
    assert.equal(broken, 2);
    for (const p of await candidatePairs(b)) {
      assert.equal(p.policy, 'relay', `${p.direction} transport was made again relay-only`);
      assert.equal(p.localType, 'relay');
    }
    assert.equal(await b.getAttribute('.meeting', 'data-media'), 'relay');
    // The relay refuses the dead port (not the SFU's), and says so at warn; never the SFU's own port.
    const refused = e2e.stack
      .output()
      .split('\n')
      .filter((l) => l.includes('"turn.peer-refused"'))
      .map((l) => JSON.parse(l) as { level: number; port?: number });
    for (const r of refused) assert.equal(r.port, deadPort, `only the dead port is refused: ${JSON.stringify(r)}`);
    assert.ok(refused.every((r) => r.level === 40));
  });
});
