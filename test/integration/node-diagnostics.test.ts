/**
 * The control API's test and diagnostic routes (consumer and pipe stats) exist only on a node started with
 * TREFFPUNKT_NODE_DIAGNOSTICS: without it they answer 404 like any unknown path. With it they are still
 * signed like every control request. (startStack turns the setting on for every node; this test turns it
 * off for one.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({
    nodes: [{ nodeId: 'plain', env: { TREFFPUNKT_NODE_DIAGNOSTICS: '0' } }, { nodeId: 'diagnosing' }],
  });
});
after(async () => {
  await stack?.stop();
});

test('without TREFFPUNKT_NODE_DIAGNOSTICS the stats routes answer 404; with it they answer', async () => {
  const [plain, diagnosing] = stack.mediaNodes as [Stack['mediaNodes'][0], Stack['mediaNodes'][0]];
  const room = 'diagnostics-room';
  // A pipe between the two nodes, so that the pipe stats route has something to report.
  for (const [node, peer] of [
    [plain, diagnosing],
    [diagnosing, plain],
  ] as const) {
    const res = await node.controlFetch(`/v1/rooms/${room}/pipes/${peer.nodeId}`, { body: {} });
    assert.equal(res.status, 200, await res.text());
  }

  for (const [node, peer] of [
    [plain, diagnosing],
    [diagnosing, plain],
  ] as const) {
    const pipeStats = await node.controlFetch(`/v1/rooms/${room}/pipes/${peer.nodeId}/stats`);
    const consumerStats = await node.controlFetch(`/v1/rooms/${room}/consumers/no-such-consumer/stats`);
    if (node === plain) {
      assert.equal(pipeStats.status, 404);
      assert.deepEqual(await pipeStats.json(), { error: { code: 'NOT_FOUND', message: 'not found' } }, 'no such route');
      assert.equal(consumerStats.status, 404);
      assert.deepEqual(
        await consumerStats.json(),
        { error: { code: 'NOT_FOUND', message: 'not found' } },
        'no such route',
      );
    } else {
      assert.equal(pipeStats.status, 200);
      assert.match(
        ((await pipeStats.json()) as { srtpCryptoSuite: string | null }).srtpCryptoSuite ?? '',
        /^(AEAD_AES_(256|128)_GCM|AES_CM_128_HMAC_SHA1_(80|32))$/,
      );
      assert.equal(consumerStats.status, 404);
      assert.equal(
        ((await consumerStats.json()) as { error: { message: string } }).error.message,
        'no such consumer',
        'the route exists',
      );
    }
  }

  // Still behind the signature check.
  const unsigned = await fetch(`${diagnosing.controlUrl}/v1/rooms/${room}/pipes/${plain.nodeId}/stats`);
  assert.equal(unsigned.status, 401);
});
