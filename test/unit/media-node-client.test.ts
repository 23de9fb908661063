/**
 * The edge's control client against a real HTTP server that answers headers at once and then dribbles
 * its body: the room's abort (its node was found lost) ends the call during the body too, and an
 * oversized answer is refused instead of read. (The deadline itself, 5 s, is shown end to end on both
 * edges in test/integration/node-deadline.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediaNodeClient, NodeUnreachableError } from '../../edge/core/media-node-client.ts';
import { waitFor } from '../support/poll.ts';

let server: Server;
let url: string;
/** Body bytes the server has written after the headers, over all requests. */
let dribbled = 0;
const timers = new Set<NodeJS.Timeout>();

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.includes('/huge/')) {
      // 2 MiB of valid JSON, fast: too much for a control answer.
      res.end(
        JSON.stringify({ rtpCapabilities: { codecs: [], headerExtensions: [] }, pad: 'x'.repeat(2 * 1024 * 1024) }),
      );
      return;
    }
    res.write('{');
    const timer = setInterval(() => {
      res.write(' ');
      dribbled++;
    }, 50);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const t of timers) clearInterval(t);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test("the room's abort ends a call whose answer is still arriving", async () => {
  const abort = new AbortController();
  const client = new MediaNodeClient({ nodeId: 'n', controlUrl: url, secret: 's'.repeat(32), abort: abort.signal });
  const seen = dribbled;
  const call = client.call('ensureRouter', { room: 'r' }, {});
  call.catch(() => {});
  // The headers went out long ago and the body dribbles; then the node is found lost.
  await waitFor('the body to dribble', () => dribbled >= seen + 5);
  const started = Date.now();
  abort.abort();
  await assert.rejects(call, NodeUnreachableError);
  const ms = Date.now() - started;
  assert.ok(ms < 2_000, `the call ended ${ms} ms after the abort`);
});

test('an answer larger than 1 MiB is refused, not read into memory', async () => {
  const client = new MediaNodeClient({ nodeId: 'n', controlUrl: url, secret: 's'.repeat(32) });
  await assert.rejects(client.call('ensureRouter', { room: 'huge' }, {}), /invalid ensureRouter response/);
});
