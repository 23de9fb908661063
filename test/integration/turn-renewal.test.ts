/**
 * Renewing TURN credentials over signaling, on both edge runtimes: createTransport says when its TURN
 * credentials expire (`iceServersExpireIn`, the edge's TTL), and restartIce hands out fresh ones for the
 * same person (a later expiry, the same identity part, so the node's quota keeps counting them together).
 * The browser side of the renewal is test/e2e/turn-renewal.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';
import { deploymentToken } from '../support/join-token.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';

const TTL_SECONDS = 120;
const SECRET = 'turn-renewal-test-secret-0123456789abcdef';
const token = (sub: string) =>
  deploymentToken(SECRET, { room: 'turn-identity', name: `Person ${sub}`, role: 'participant', sub });

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({
        runtime,
        edgeEnv: {
          TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS: String(TTL_SECONDS),
          TREFFPUNKT_JOIN_TOKEN_SECRET: SECRET,
          TREFFPUNKT_GUEST_POLICY: 'allow',
        },
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test('restartIce brings fresh TURN credentials, and both answers say when they expire', async () => {
      const a = await SignalingClient.connect(stack.wsUrl('turn-renewal'));
      await a.join('A');
      const t = await a.request('createTransport', { direction: 'send' });
      assert.ok(t.iceServers.length > 0, 'the media node runs TURN');
      assert.equal(t.iceServersExpireIn, TTL_SECONDS);
      const [expiry, identity] = t.iceServers[0]!.username.split(':');
      // A second later, so that the new expiry is visibly later (whole seconds).
      await waitFor('the next second', () => Math.floor(Date.now() / 1000) + TTL_SECONDS > Number(expiry), 3_000, 50);
      const r = await a.request('restartIce', { transportId: t.id });
      assert.ok(
        r.iceServers && r.iceServers.length === t.iceServers.length,
        'fresh iceServers in the restartIce answer',
      );
      assert.equal(r.iceServersExpireIn, TTL_SECONDS);
      const [newExpiry, newIdentity] = r.iceServers[0]!.username.split(':');
      assert.ok(Number(newExpiry) > Number(expiry), 'a later expiry');
      assert.equal(newIdentity, identity, 'the same identity part: one quota for the person');
      assert.notEqual(r.iceServers[0]!.credential, t.iceServers[0]!.credential);
      assert.deepEqual(r.iceServers[0]!.urls, t.iceServers[0]!.urls);
      await a.close();
    });

    test('the TURN quota follows the token identity across joins; guests count per join', async () => {
      const identityPart = async (join: (c: SignalingClient) => Promise<unknown>) => {
        const c = await SignalingClient.connect(stack.wsUrl('turn-identity'));
        await join(c);
        const t = await c.request('createTransport', { direction: 'recv' });
        await c.request('leave', {});
        await c.close();
        return t.iceServers[0]!.username.split(':')[1];
      };
      const withToken = (sub: string) => async (c: SignalingClient) =>
        c.request('join', { protocolVersion: PROTOCOL_VERSION, token: await token(sub) });
      const first = await identityPart(withToken('alice'));
      const again = await identityPart(withToken('alice'));
      assert.equal(again, first, 'joining again with the same token identity: the same TURN user, one quota');
      assert.notEqual(await identityPart(withToken('bob')), first, 'another person: another TURN user');
      const guest1 = await identityPart((c) => c.join('Guest'));
      const guest2 = await identityPart((c) => c.join('Guest'));
      assert.notEqual(guest1, guest2, 'a guest has no identity beyond the join');
    });
  });
