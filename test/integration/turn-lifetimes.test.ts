/**
 * TURN credential lifetimes and per-person quotas, on both servers, through real media node processes
 * and a real TURN client: a credential that has expired is refused for Allocate, and an allocation made
 * with it ends with it (Refresh, CreatePermission and ChannelBind refused, nothing relayed any more); the
 * allocation quota counts per identity across participant ids; the refusals are security events in the
 * node's log. Credentials live 3 s here; the test polls until they have expired. Loopback peers only.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mintTurnCredentials } from '../../edge/core/turn-credentials.ts';
import { refusedCode, TurnClient } from '../support/turn-client.ts';
import { echoPeer, startTurnNode, type TurnNode } from '../support/turn-node.ts';
import { waitFor } from '../support/poll.ts';

const hasCoturn = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v turnserver'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function client(
  node: TurnNode,
  identity: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<{ c: TurnClient; expiresAtMs: number }> {
  const ice = await mintTurnCredentials({ secret: node.turn.secret, identity, ttlSeconds, now, urls: node.turn.urls });
  const expiresAtMs = Number(ice.username.split(':')[0]) * 1000;
  return {
    c: await TurnClient.open({
      host: '127.0.0.1',
      port: node.turnPort,
      username: ice.username,
      password: ice.credential,
    }),
    expiresAtMs,
  };
}

/** coturn compares whole seconds and still accepts a credential during the second it expires in. */
const EXPIRY_SECOND = 1_000;
/**
 * For a new Allocate, coturn checks the expiry against its own cached clock: once in about a dozen runs
 * it still accepted a credential about a second past the whole-second mark. The node's expiry sweep ends
 * such a session within TREFFPUNKT_TURN_EXPIRY_SWEEP_SECONDS anyway (the first test shows that); this
 * margin keeps the Allocate check about coturn's own refusal, whatever the machine's timing.
 */
const COTURN_ALLOCATE_MARGIN = 2_500;
/** A request on a 5-tuple whose allocation was ended: 437 (coturn: 400 for CreatePermission there). */
const ENDED = [400, 401, 437];

/** The node's log lines that are JSON objects with this event. */
function events(node: TurnNode, event: string): Record<string, unknown>[] {
  return node
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return o.event === event ? [o] : [];
      } catch {
        return [];
      }
    });
}

for (const mode of ['embedded', 'coturn'] as const) {
  describe(`TURN lifetimes (${mode})`, {
    skip:
      mode === 'coturn' && !hasCoturn ? 'turnserver not installed (scripts/setup.sh --test installs coturn)' : false,
  }, () => {
    let node: TurnNode;
    let peer: Awaited<ReturnType<typeof echoPeer>>;
    before(async () => {
      [node, peer] = await Promise.all([
        startTurnNode({
          mode,
          allowLoopbackPeers: true,
          // Short nonces and a fast expiry sweep (coturn), so that 3-second credentials are seen to end.
          env: {
            TREFFPUNKT_TURN_USER_QUOTA: '2',
            TREFFPUNKT_TURN_NONCE_LIFETIME_SECONDS: '5',
            TREFFPUNKT_TURN_EXPIRY_SWEEP_SECONDS: '1',
          },
        }),
        echoPeer(),
      ]);
    });
    after(async () => {
      peer?.socket.close();
      await node?.stop();
    });

    test('an allocation ends with its credential: Refresh, CreatePermission and ChannelBind refused, nothing relayed', async () => {
      const { c, expiresAtMs } = await client(node, 'guest-expiring', 3);
      try {
        const a = await c.allocate();
        if (mode === 'embedded')
          assert.ok(a.lifetime <= 3, `the granted lifetime stops at the credential's expiry (got ${a.lifetime} s)`);
        await c.createPermission('127.0.0.1', peer.port);
        await c.channelBind(0x4001, '127.0.0.1', peer.port);
        await c.sendChannelData(0x4001, Buffer.from('before-expiry'));
        assert.ok(
          await c.waitForData((r) => r.data.toString() === 'echo:before-expiry'),
          'relayed while the credential is valid',
        );

        await waitFor('the credential to expire', () => Date.now() > expiresAtMs + EXPIRY_SECOND, 10_000, 100);
        // coturn: the node's sweep ends the session within its interval (1 s here); embedded: at once.
        const refresh = await waitFor(
          'Refresh to be refused',
          async () => (await refusedCode(() => c.refresh(600))) || undefined,
          15_000,
          250,
        );
        assert.ok(ENDED.includes(refresh), `Refresh after expiry refused (got ${refresh})`);
        const permission = await refusedCode(() => c.createPermission('127.0.0.1', peer.port));
        assert.ok(ENDED.includes(permission), `CreatePermission after expiry refused (got ${permission || 'success'})`);
        const bind = await refusedCode(() => c.channelBind(0x4002, '127.0.0.1', peer.port));
        assert.ok(ENDED.includes(bind), `ChannelBind after expiry refused (got ${bind || 'success'})`);
        await c.sendChannelData(0x4001, Buffer.from('after-expiry'));
        await c.sendIndication('127.0.0.1', peer.port, Buffer.from('after-expiry'));
        const arrived = await waitFor(
          'a relayed datagram',
          () => peer.got.some((b) => b.toString() === 'after-expiry'),
          500,
          25,
        ).catch(() => false);
        assert.equal(arrived, false, 'nothing relayed after the credential expired');
        await waitFor(
          'the allocation-ended event',
          () => events(node, 'turn.allocation-ended').some((e) => e.reason === 'credential expired'),
          5_000,
        );
      } finally {
        c.close();
      }
    });

    test('a credential that has expired cannot allocate', async () => {
      const { c, expiresAtMs } = await client(node, 'guest-late', 3);
      try {
        const margin = mode === 'coturn' ? COTURN_ALLOCATE_MARGIN : EXPIRY_SECOND;
        await waitFor('the credential to expire', () => Date.now() > expiresAtMs + margin, 10_000, 100);
        assert.equal(await refusedCode(() => c.allocate()), 401);
        const e = await waitFor('the refusal event', () =>
          events(node, 'turn.refused').find((x) => x.reason === 'credential expired'),
        );
        assert.equal(e.level, 40, 'a warning (pino level 40)');
        if (mode === 'embedded') assert.equal(e.method, 'Allocate');
        assert.ok(!JSON.stringify(e).includes('guest-late'), 'the identity is logged only as its pseudonym');
      } finally {
        c.close();
      }
    });

    test('the allocation quota counts per identity, across participant ids and credentials', async () => {
      // One person (one token identity) joins twice: two participant ids, two credentials minted apart.
      const alice = 'token-identity-of-alice';
      const clients: TurnClient[] = [];
      try {
        const first = await client(node, alice, 300, Date.now() - 60_000);
        clients.push(first.c);
        await first.c.allocate();
        const second = await client(node, alice, 300);
        clients.push(second.c);
        await second.c.allocate();
        const third = await client(node, alice, 600);
        clients.push(third.c);
        assert.equal(await refusedCode(() => third.c.allocate()), 486, 'the same person over the quota of 2: 486');
        const bob = await client(node, 'token-identity-of-bob', 300);
        clients.push(bob.c);
        await bob.c.allocate();
        await waitFor('the quota event', () =>
          events(node, 'turn.refused').some((e) => e.reason === 'user quota' && e.level === 40),
        );
        // Freeing one of the person's allocations makes room for them again (coturn: within a second).
        await first.c.refresh(0);
        await waitFor(
          'room for a new allocation',
          async () => (await refusedCode(() => third.c.allocate())) === 0,
          5_000,
          100,
        );
      } finally {
        for (const c of clients) c.close();
      }
    });
  });
}
