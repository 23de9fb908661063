/**
 * Hostile and broken input on the room WebSocket: each gets a stable error code, no stack trace reaches
 * the client, and the room keeps working for a well-behaved participant in it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ErrorCode } from '../../shared/errors.ts';
import { waitFor } from '../support/poll.ts';
import http from 'node:http';

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime });
    });
    after(async () => {
      await stack?.stop();
    });

    const room = 'bad-input';

    function assertError(reply: unknown, code: string) {
      const r = reply as { ok: boolean; error?: { code: string; message: string } };
      assert.equal(r.ok, false, `expected an error reply, got ${JSON.stringify(reply).slice(0, 200)}`);
      assert.equal(r.error?.code, code, `expected ${code}, got ${JSON.stringify(r.error)}`);
      assert.doesNotMatch(r.error!.message, /\n\s+at |\.ts:\d+/, 'no stack trace in error messages');
    }

    test('each kind of bad input gets its stable error code and the room keeps working', async () => {
      const good = await SignalingClient.connect(stack.wsUrl(room));
      const goodJoin = await good.join('Well Behaved');
      const bad = await SignalingClient.connect(stack.wsUrl(room));

      // Wrong state first: everything but join and ping needs a joined participant.
      assertError(
        await bad.call('consume', { transportId: 't', producerId: 'p', rtpCapabilities: {} }),
        ErrorCode.NotJoined,
      );
      assertError(await bad.call('createTransport', { direction: 'send' }), ErrorCode.NotJoined);
      assertError(await bad.call('leave', {}), ErrorCode.NotJoined);

      assertError(await bad.sendRaw('{"id": 1, "method": "join", '), ErrorCode.BadJson);
      assertError(await bad.sendRaw('not json at all'), ErrorCode.BadJson);
      assertError(await bad.sendRaw('[1,2,3]'), ErrorCode.BadMessage);
      assertError(await bad.sendRaw('{"id": "seven", "method": "ping"}'), ErrorCode.BadMessage);
      assertError(
        await bad.sendRaw(JSON.stringify({ id: 5, method: 'ping', params: {}, extra: true }), 5),
        ErrorCode.BadMessage,
      );
      assertError(await bad.call('teleport' as 'ping', {}), ErrorCode.UnknownMethod);
      assertError(await bad.call('__proto__' as 'ping', {}), ErrorCode.UnknownMethod);
      assertError(await bad.call('join', { protocolVersion: 1, name: '' }), ErrorCode.BadMessage);
      assertError(await bad.call('join', { protocolVersion: 1, name: 'x'.repeat(65) }), ErrorCode.BadMessage);
      assertError(await bad.call('join', { protocolVersion: 1, name: 'a\u0000b' }), ErrorCode.BadMessage);
      assertError(await bad.call('join', { protocolVersion: '1', name: 'n' }), ErrorCode.BadMessage);
      assertError(await bad.call('join', { protocolVersion: 1, name: 'n', role: 'moderator' }), ErrorCode.BadMessage);
      assertError(await bad.call('join', { protocolVersion: 99, name: 'n' }), ErrorCode.UnsupportedProtocolVersion);
      assertError(await bad.call('createTransport', { direction: 'sideways' }), ErrorCode.BadMessage);

      // A 1 MB message.
      const huge = JSON.stringify({
        id: 9,
        method: 'join',
        params: { protocolVersion: 1, name: 'x'.repeat(1024 * 1024) },
      });
      assertError(await bad.sendRaw(huge), ErrorCode.MessageTooLarge);
      // A binary frame.
      assertError(await bad.sendRaw(new Uint8Array([1, 2, 3])), ErrorCode.BadJson);

      // The bad client can still join properly afterwards, and then hits state errors with ids it does not own.
      const badJoin = await bad.join('Recovered');
      assertError(await bad.call('join', { protocolVersion: 1, name: 'again' }), ErrorCode.AlreadyJoined);
      assertError(
        await bad.call('connectTransport', {
          transportId: 'nope',
          dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] },
        }),
        ErrorCode.NotFound,
      );
      assertError(await bad.call('resumeConsumer', { consumerId: 'nope' }), ErrorCode.NotFound);
      assertError(await bad.call('closeProducer', { producerId: 'nope' }), ErrorCode.NotFound);
      // Invalid RTP parameters go to the media node, which refuses them; the edge passes a stable code on.
      const send = await bad.request('createTransport', { direction: 'send' });
      assertError(
        await bad.call('produce', {
          transportId: send.id,
          kind: 'video',
          source: 'camera',
          rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 96, clockRate: 90000 }] },
        }),
        ErrorCode.MediaNodeError,
      );
      // Using a send transport to consume is refused.
      assertError(
        await bad.call('consume', { transportId: send.id, producerId: 'p', rtpCapabilities: {} }),
        ErrorCode.NotFound,
      );

      // The well-behaved participant saw the recovered client join, and is still served.
      await good.waitForEvent<{ participant: { id: string } }>(
        'participantJoined',
        (d) => d.participant.id === badJoin.participantId,
      );
      assert.equal(typeof (await good.request('ping', {})).time, 'number');
      const t = await good.request('createTransport', { direction: 'recv' });
      assert.match(t.id, /.+/);

      // A newcomer still gets the room with both in it.
      const late = await SignalingClient.connect(stack.wsUrl(room));
      const lateJoin = await late.join('Late');
      assert.deepEqual(
        lateJoin.participants.map((p) => p.id).sort(),
        [goodJoin.participantId, badJoin.participantId].sort(),
      );

      // Nothing crashed, and no stack trace was logged for client mistakes.
      assert.ok(stack.edgeAlive(), 'the edge is alive');
      assert.equal(stack.mediaNode.exitCode, null);
      assert.doesNotMatch(stack.output(), /"level":(50|"error")/, 'no error-level log lines for client mistakes');
      await Promise.all([good.close(), bad.close(), late.close()]);
    });

    test('a frame over the transport limit is refused, others keep working', async () => {
      const good = await SignalingClient.connect(stack.wsUrl('big-frames'));
      await good.join('Stays');
      const bad = await SignalingClient.connect(stack.wsUrl('big-frames'));
      bad.ws.send('x'.repeat(3 * 1024 * 1024));
      if (runtime === 'node') {
        // ws refuses it before buffering it whole: close code 1009 (message too big).
        await waitFor('the oversized socket to be closed', () => bad.closeCode !== undefined);
        assert.equal(bad.closeCode, 1009);
      } else {
        // workerd delivers it; the room refuses it with its stable code and the socket stays usable.
        const reply = await waitFor('the error reply', () => bad.frames.find((f) => 'ok' in f && !f.ok));
        assertError(reply, ErrorCode.MessageTooLarge);
        assert.equal(typeof (await bad.request('ping', {})).time, 'number');
      }
      assert.equal(typeof (await good.request('ping', {})).time, 'number');
      await Promise.all([good.close(), bad.close()]);
    });

    test('room names and upgrade requirements are checked on the HTTP route', async () => {
      // A WebSocket to an invalid room name is refused at the upgrade.
      const refused = await SignalingClient.connect(stack.wsUrl('..%2f..')).then(
        () => false,
        () => true,
      );
      assert.ok(refused, 'upgrade to an invalid room name is refused');
      const get = (path: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          http
            .get(`${stack.edgeUrl}${path}`, { headers }, (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            })
            .on('error', reject);
        });
      const badName = await get('/rooms/a%20b/ws', { connection: 'Upgrade', upgrade: 'websocket' });
      assert.equal(badName.status, 400);
      const noUpgrade = await get('/rooms/ok/ws');
      assert.equal(noUpgrade.status, 426);
      assert.equal((JSON.parse(noUpgrade.body) as { error: { code: string } }).error.code, ErrorCode.BadMessage);
    });
  });
