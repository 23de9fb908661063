/**
 * createTransport with the client's DTLS parameters (issue 14: a transport made with the join is made
 * and connected in one node call): the real media node connects the real mediasoup transport at once and
 * says so; parameters mediasoup refuses leave it unconnected, for the client to connect itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { signRequest } from '../../shared/request-signing.ts';
import { startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ runtime: 'node' });
});
after(async () => {
  await stack?.stop();
});

const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: `${'AB:'.repeat(31)}AB` }] };

async function control(path: string, body: unknown) {
  const text = JSON.stringify(body);
  const res = await fetch(stack.controlUrl + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(await signRequest(stack.secret, stack.nodeId, { method: 'POST', path, body: text })),
    },
    body: text,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

test('createTransport with clientDtlsParameters connects the transport in the same call; refused parameters leave it for connectTransport', async () => {
  const room = '/v1/rooms/connect-on-create';
  const made = await control(`${room}/transports`, {
    participantId: 'p1',
    direction: 'recv',
    clientDtlsParameters: DTLS,
  });
  assert.equal(made.status, 200);
  assert.equal(made.body.connected, true);
  // mediasoup connects a transport once: a second connect is refused, so the first one really happened.
  const again = await control(`${room}/transports/${made.body.id}/connect`, { dtlsParameters: DTLS });
  assert.notEqual(again.status, 200, 'already connected');

  const refused = await control(`${room}/transports`, {
    participantId: 'p2',
    direction: 'recv',
    clientDtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'no-such-hash', value: 'AB' }] },
  });
  assert.equal(refused.status, 200, 'the transport is made');
  assert.equal(refused.body.connected, false);
  const later = await control(`${room}/transports/${refused.body.id}/connect`, { dtlsParameters: DTLS });
  assert.equal(later.status, 200, 'the client connects it itself');

  const plain = await control(`${room}/transports`, { participantId: 'p3', direction: 'send' });
  assert.equal(plain.status, 200);
  assert.equal('connected' in plain.body, false, 'without the field, nothing is said about connecting');
});
