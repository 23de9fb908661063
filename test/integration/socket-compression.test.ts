/**
 * Room sockets are not compressed (no permessage-deflate), even when the client offers it as every
 * browser does: a compressed socket holds a zlib context of about 300 KiB in workerd for signaling frames
 * of a few hundred bytes (docs/benchmarks.md, edge memory). The Node edge never negotiates it (ws's server
 * default); workerd needs the `no_web_socket_compression` flag (workerd.capnp, wrangler.toml). Checked
 * against the self-hosted workerd an operator runs; Miniflare's own proxy in front of workerd negotiates
 * compression by itself, so it is not a witness here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startStack, type EdgeRuntime, type Stack } from '../support/stack.ts';

for (const runtime of ['node', 'workerd-selfhosted'] as EdgeRuntime[]) {
  describe(`room socket compression (${runtime} edge)`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime });
    });
    after(() => stack?.stop());

    test('a client offering permessage-deflate gets an uncompressed socket', async () => {
      const ws = new WebSocket(stack.wsUrl('compression-check'), { perMessageDeflate: true });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      try {
        assert.equal(ws.extensions, '', `negotiated extensions: ${ws.extensions}`);
      } finally {
        ws.close();
      }
    });
  });
}
