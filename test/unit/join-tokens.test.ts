/**
 * Join tokens are accepted or refused as they must be: HS256 of the deployment, EdDSA/ES256/RS256 of
 * identity providers via a JWKS URL (with key rotation) or configured keys; every way to get it wrong.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JoinTokenVerifier } from '../../edge/core/join-tokens.ts';

const SECRET = 'a-deployment-secret-of-at-least-32-characters';
const claims = { room: 'r1', name: 'Anna', role: 'participant' };
const hs = (payload: object = claims, opts: { exp?: string | number; nbf?: string | number; iss?: string; alg?: string } = {}) => {
  const jwt = new SignJWT({ ...payload }).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuer(opts.iss ?? 'treffpunkt').setIssuedAt().setExpirationTime(opts.exp ?? '10m');
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(new TextEncoder().encode(SECRET));
};

let jwksServer: Server;
let jwks: { keys: JWK[] } = { keys: [] };
let jwksUrl = '';
let idpKey: { privateKey: CryptoKey; kid: string };
before(async () => {
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  const address = jwksServer.address();
  jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json`;
  idpKey = await newIdpKey('k1');
  jwks = { keys: [await publicJwk(idpKey, 'EdDSA')] };
});
after(() => jwksServer.close());

async function newIdpKey(kid: string) {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { privateKey, kid };
}
async function publicJwk(key: { privateKey: CryptoKey; kid: string }, alg: string): Promise<JWK> {
  const { d: _d, ...pub } = await exportJWK(key.privateKey);
  return { ...pub, kid: key.kid, alg, use: 'sig' };
}
const idpToken = (key: { privateKey: CryptoKey; kid: string }, payload: object = claims, iss = 'https://idp.example') =>
  new SignJWT({ ...payload }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setIssuer(iss).setExpirationTime('5m').sign(key.privateKey);

const verifier = () =>
  new JoinTokenVerifier(
    [
      { issuer: 'treffpunkt', hs256Secret: SECRET },
      { issuer: 'https://idp.example', jwksUrl },
    ],
    { jwksCooldownMs: 0 },
  );
const reason = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
};

test('a valid HS256 token gives name and role', async () => {
  const c = await verifier().verify(await hs({ ...claims, role: 'moderator' }), 'r1');
  assert.equal(c.name, 'Anna');
  assert.equal(c.role, 'moderator');
  assert.equal(c.issuer, 'treffpunkt');
});

test('expired, not yet valid, wrong room, wrong secret and tampered tokens are refused', async () => {
  const v = verifier();
  assert.match(await reason(v.verify(await hs(claims, { exp: Math.floor(Date.now() / 1000) - 120 }), 'r1')), /UNAUTHORIZED: .*expired/);
  assert.match(await reason(v.verify(await hs(claims, { nbf: Math.floor(Date.now() / 1000) + 3600 }), 'r1')), /not yet valid/);
  assert.match(await reason(v.verify(await hs(), 'other-room')), /another room/);
  const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuer('treffpunkt').setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(40)));
  assert.match(await reason(v.verify(forged, 'r1')), /bad signature/);
  const token = await hs();
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, role: 'moderator' })).toString('base64url')}.${s}`;
  assert.match(await reason(v.verify(tampered, 'r1')), /bad signature/);
  assert.match(await reason(v.verify('not.a.jwt', 'r1')), /malformed/);
  assert.match(await reason(v.verify(await hs({ room: 'r1', name: 'A', role: 'admin' }), 'r1')), /claims: role/);
  assert.match(await reason(v.verify(await hs({ room: 'r1', role: 'participant' }), 'r1')), /claims: name/);
});

test('alg none and algorithm confusion are refused', async () => {
  const v = verifier();
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const none = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, iss: 'treffpunkt', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
  assert.match(await reason(v.verify(none, 'r1')), /UNAUTHORIZED/);
  // HS256 signed with the IdP's public key material as the "secret": the IdP issuer only takes asymmetric algorithms.
  const confused = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://idp.example').setExpirationTime('5m').sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
  assert.match(await reason(v.verify(confused, 'r1')), /UNAUTHORIZED/);
  // HS512 with the deployment secret: not an allowed algorithm.
  assert.match(await reason(v.verify(await hs(claims, { alg: 'HS512' }), 'r1')), /algorithm not allowed/);
});

test('untrusted issuers are refused, trusted identity providers accepted via JWKS', async () => {
  const v = verifier();
  assert.match(await reason(v.verify(await hs(claims, { iss: 'someone-else' }), 'r1')), /untrusted issuer/);
  assert.match(await reason(v.verify(await idpToken(idpKey, claims, 'https://evil.example'), 'r1')), /untrusted issuer/);
  const c = await v.verify(await idpToken(idpKey), 'r1');
  assert.equal(c.issuer, 'https://idp.example');
  // A key the IdP never published.
  assert.match(await reason(v.verify(await idpToken(await newIdpKey('k1')), 'r1')), /bad signature/);
});

test('JWKS key rotation: a new key is fetched, a withdrawn key stops working', async () => {
  const v = verifier();
  await v.verify(await idpToken(idpKey), 'r1');
  const rotated = await newIdpKey('k2');
  jwks = { keys: [await publicJwk(rotated, 'EdDSA')] };
  // Unknown kid: jose refetches the key set (no more often than the cooldown, 0 in this test, 30 s by default).
  const c = await v.verify(await idpToken(rotated), 'r1');
  assert.equal(c.name, 'Anna');
  // A fresh verifier sees only k2 now: the withdrawn k1 is refused.
  assert.match(await reason(verifier().verify(await idpToken(idpKey), 'r1')), /bad signature/);
});

test('configured keys (no URL) for a partner organisation, ES256 and RS256', async () => {
  for (const alg of ['ES256', 'RS256'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'p1', alg };
    const v = new JoinTokenVerifier([{ issuer: 'partner', jwks: { keys: [jwk] } }]);
    const token = await new SignJWT({ ...claims, role: 'guest' }).setProtectedHeader({ alg, kid: 'p1' }).setIssuer('partner').setExpirationTime('5m').sign(privateKey);
    assert.equal((await v.verify(token, 'r1')).role, 'guest', alg);
  }
});
