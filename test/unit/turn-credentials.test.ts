/** TURN REST credentials: minted by the edge (Web Crypto), checked by the media node (node:crypto). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mintTurnCredentials, turnPseudonym, turnRestPassword } from '../../edge/core/turn-credentials.ts';
import {
  parseRestUsername,
  restCredentialsMap,
  restPassword,
  restUsernameProblem,
} from '../../media-node/turn/rest-credentials.ts';
import { createNonceIssuer } from '../../media-node/turn/nonces.ts';
import { NodeRegistration } from '../../shared/control.ts';

const secret = 'north-secret-0123';

test('the password is base64(HMAC-SHA1(secret, username)) (vector from openssl)', async () => {
  // printf '1600000000:alice' | openssl dgst -sha1 -hmac 'north-secret-0123' -binary | base64
  assert.equal(await turnRestPassword(secret, '1600000000:alice'), 'GE5oxC4P7x+2X75BlsdIKDDAJkw=');
  assert.equal(restPassword(secret, '1600000000:alice'), 'GE5oxC4P7x+2X75BlsdIKDDAJkw=');
});

test('mint: <expiry>:<pseudonym of the identity>, expiry = now + ttl, and the node accepts it until then', async () => {
  const now = 1_700_000_000_500;
  const urls = ['turn:203.0.113.7:3478?transport=udp'];
  const identity = 'token-identity-of-user-42';
  const ice = await mintTurnCredentials({ secret, identity, ttlSeconds: 3 * 3600, now, urls });
  const pseudonym = await turnPseudonym(secret, identity);
  assert.match(pseudonym, /^[A-Za-z0-9_-]{22}$/, '128 bits, base64url: a valid REST username part');
  assert.equal(ice.username, `${1_700_000_000 + 3 * 3600}:${pseudonym}`);
  assert.ok(!ice.username.includes('user-42'), 'no identity on the wire');
  assert.deepEqual(ice.urls, urls);
  assert.notEqual(ice.urls, urls, 'a copy of the URL list');
  assert.equal(ice.credential, restPassword(secret, ice.username), 'edge and node compute the same password');
  assert.deepEqual(parseRestUsername(ice.username), { expiresAt: 1_700_000_000 + 3 * 3600, user: pseudonym });

  let clock = now;
  const map = restCredentialsMap(secret, () => clock);
  assert.equal(map[ice.username], ice.credential);
  clock = now + 3 * 3600 * 1000 - 1000;
  assert.equal(map[ice.username], ice.credential, 'valid one second before expiry');
  clock = now + 3 * 3600 * 1000;
  assert.equal(map[ice.username], undefined, 'expired');
  assert.equal(restUsernameProblem(ice.username, clock), 'credential expired');
  assert.equal(
    restCredentialsMap(secret, () => clock, { includeExpired: true })[ice.username],
    ice.credential,
    'includeExpired: for checking MESSAGE-INTEGRITY only',
  );
});

test('the identity part is stable per person and node, and differs between people and between nodes', async () => {
  const base = { secret, ttlSeconds: 600, urls: ['turn:127.0.0.1:3478'] };
  const user = (u: string) => u.split(':')[1];
  const alice = 'token-identity-of-alice';
  // Joining again (a new participant id, a later mint) with the same token identity: the same quota key.
  const first = await mintTurnCredentials({ ...base, identity: alice, now: 1_700_000_000_000 });
  const again = await mintTurnCredentials({ ...base, identity: alice, now: 1_700_000_900_000 });
  assert.notEqual(first.username, again.username);
  assert.equal(user(first.username), user(again.username));
  const others = ['token-identity-of-bob', 'guest-participant-1'];
  for (const o of others)
    assert.notEqual(
      user((await mintTurnCredentials({ ...base, identity: o, now: 0 })).username),
      user(first.username),
      o,
    );
  const onOtherNode = await mintTurnCredentials({
    ...base,
    secret: 'south-secret-4567',
    identity: alice,
    now: 1_700_000_000_000,
  });
  assert.notEqual(user(onOtherNode.username), user(first.username), 'unlinkable across nodes with different secrets');
});

test('the node refuses malformed usernames and cannot be written to', () => {
  const map = restCredentialsMap(secret, () => 0);
  for (const u of [
    'alice',
    ':alice',
    '123:',
    'abc:alice',
    '1:has space',
    `1:${'x'.repeat(300)}`,
    '__proto__',
    'constructor',
    '1:a\nb',
  ]) {
    assert.equal(map[u], undefined, JSON.stringify(u));
  }
  assert.equal(Reflect.set(map, '9999999999:x', 'pw'), false);
  assert.deepEqual(Object.keys(map), []);
});

test('mint refuses what the TURN servers would not accept', async () => {
  const base = { secret, ttlSeconds: 60, now: Date.now(), urls: ['turn:127.0.0.1:3478'] };
  await assert.rejects(mintTurnCredentials({ ...base, identity: '' }), /identity/);
  await assert.rejects(mintTurnCredentials({ ...base, identity: 'x'.repeat(1025) }), /identity/);
  await assert.rejects(mintTurnCredentials({ ...base, identity: 'p', ttlSeconds: 0 }), /ttlSeconds/);
  await assert.rejects(mintTurnCredentials({ ...base, identity: 'p', secret: 'short' }), /secret/);
  // Any identity key, colons and spaces included, becomes a username part the servers accept.
  const ice = await mintTurnCredentials({ ...base, identity: 'a:b c' });
  assert.ok(parseRestUsername(ice.username));
});

test('nonces are stateless, expire and cannot be forged', () => {
  let clock = 1_000_000;
  const issuer = createNonceIssuer(60_000, () => clock);
  const nonce = issuer.generate();
  assert.ok(issuer.check(nonce));
  assert.equal(issuer.check(nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0')), false, 'a changed MAC');
  assert.equal(issuer.check(`ffffffffff${nonce.slice(10)}`), false, 'a changed expiry');
  assert.equal(createNonceIssuer().check(nonce), false, "another server's key");
  assert.equal(issuer.check(undefined), false);
  clock += 61_000;
  assert.equal(issuer.check(nonce), false, 'expired');
});

test('a node registration may carry its TURN URLs and secret', () => {
  const reg = {
    nodeId: 'n-1',
    controlUrl: 'http://127.0.0.1:4000',
    region: 'eu',
    operator: 'op',
    load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
  };
  assert.ok(NodeRegistration.safeParse(reg).success, 'turn is optional (turn-mode off)');
  const turn = {
    urls: [
      'turn:203.0.113.7:3478?transport=udp',
      'turn:[2001:db8::1]:3478?transport=tcp',
      'turns:turn.example.org:443?transport=tcp',
    ],
    secret: 'x'.repeat(32),
  };
  assert.ok(NodeRegistration.safeParse({ ...reg, turn }).success);
  assert.equal(NodeRegistration.safeParse({ ...reg, turn: { ...turn, secret: 'short' } }).success, false);
  assert.equal(NodeRegistration.safeParse({ ...reg, turn: { ...turn, urls: ['http://evil.example'] } }).success, false);
  assert.equal(NodeRegistration.safeParse({ ...reg, turn: { ...turn, urls: [] } }).success, false);
  assert.equal(NodeRegistration.safeParse({ ...reg, turn: { ...turn, extra: 1 } }).success, false);
});
