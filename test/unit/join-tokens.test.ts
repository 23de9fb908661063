/**
 * Join tokens are accepted or refused as they must be: HS256 of the deployment, EdDSA/ES256/RS256 of
 * identity providers via a JWKS URL (with key rotation) or configured keys; every way to get it wrong,
 * including what an issuer may not grant (rooms, roles, media rules), audience and lifetime (issue 10).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JoinTokenVerifier } from '../../edge/core/join-tokens.ts';
import { ConfigError, parseEdgeConfig } from '../../edge/core/config.ts';

const SECRET = 'a-deployment-secret-of-at-least-32-characters';
const claims = { room: 'r1', name: 'Anna', role: 'participant' };
const hs = (
  payload: object = claims,
  opts: {
    exp?: string | number;
    nbf?: string | number;
    iat?: number | null;
    iss?: string;
    alg?: string;
    aud?: string | null;
  } = {},
) => {
  const jwt = new SignJWT({ ...payload })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setIssuer(opts.iss ?? 'treffpunkt')
    .setExpirationTime(opts.exp ?? '10m');
  if (opts.iat !== null) jwt.setIssuedAt(opts.iat);
  if (opts.aud !== null) jwt.setAudience(opts.aud ?? 'treffpunkt');
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
  new SignJWT({ ...payload })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setIssuer(iss)
    .setAudience('treffpunkt')
    .setExpirationTime('5m')
    .sign(key.privateKey);

/** The deployment's own issuer grants everything, as config.ts configures TREFFPUNKT_JOIN_TOKEN_SECRET. */
const OWN = {
  issuer: 'treffpunkt',
  hs256Secret: SECRET,
  rooms: ['*'],
  roles: ['moderator', 'participant', 'guest'] as ('moderator' | 'participant' | 'guest')[],
  mediaClaims: true,
};
const verifier = () =>
  new JoinTokenVerifier([OWN, { issuer: 'https://idp.example', jwksUrl, rooms: ['*'] }], { jwksCooldownMs: 0 });
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
  assert.match(
    await reason(v.verify(await hs(claims, { exp: Math.floor(Date.now() / 1000) - 120 }), 'r1')),
    /UNAUTHORIZED: .*expired/,
  );
  assert.match(
    await reason(v.verify(await hs(claims, { nbf: Math.floor(Date.now() / 1000) + 3600 }), 'r1')),
    /not yet valid/,
  );
  assert.match(await reason(v.verify(await hs(), 'other-room')), /another room/);
  const forged = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('treffpunkt')
    .setAudience('treffpunkt')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('x'.repeat(40)));
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
  const none = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, iss: 'treffpunkt', aud: 'treffpunkt', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
  assert.match(await reason(v.verify(none, 'r1')), /UNAUTHORIZED/);
  // HS256 signed with the IdP's public key material as the "secret": the IdP issuer only takes asymmetric algorithms.
  const confused = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://idp.example')
    .setAudience('treffpunkt')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
  assert.match(await reason(v.verify(confused, 'r1')), /UNAUTHORIZED/);
  // HS512 with the deployment secret: not an allowed algorithm.
  assert.match(await reason(v.verify(await hs(claims, { alg: 'HS512' }), 'r1')), /algorithm not allowed/);
});

test('untrusted issuers are refused, trusted identity providers accepted via JWKS', async () => {
  const v = verifier();
  assert.match(await reason(v.verify(await hs(claims, { iss: 'someone-else' }), 'r1')), /untrusted issuer/);
  assert.match(
    await reason(v.verify(await idpToken(idpKey, claims, 'https://evil.example'), 'r1')),
    /untrusted issuer/,
  );
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
    const v = new JoinTokenVerifier([{ issuer: 'partner', jwks: { keys: [jwk] }, rooms: ['*'] }]);
    const token = await new SignJWT({ ...claims, role: 'guest' })
      .setProtectedHeader({ alg, kid: 'p1' })
      .setIssuer('partner')
      .setAudience('treffpunkt')
      .setExpirationTime('5m')
      .sign(privateKey);
    assert.equal((await v.verify(token, 'r1')).role, 'guest', alg);
  }
});

// ---- issue 10: issuer scoping, audience, lifetime, identity, a hanging identity provider ----

const partnerKey = await generateKeyPair('EdDSA', { extractable: true });
const partnerJwk = { ...(await exportJWK(partnerKey.publicKey)), kid: 'b1', alg: 'EdDSA' };
const partnerToken = (payload: object, iss = 'partner-b') =>
  new SignJWT({ ...payload })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'b1' })
    .setIssuer(iss)
    .setAudience('treffpunkt')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(partnerKey.privateKey);

test('an external issuer admits only to its rooms, grants participant or guest, no media rules — unless configured', async () => {
  const v = new JoinTokenVerifier([
    OWN,
    { issuer: 'partner-b', jwks: { keys: [partnerJwk] }, rooms: ['partner-b-*', 'joint-board'] },
  ]);
  // Another organisation's room: refused, whatever the role.
  assert.match(
    await reason(v.verify(await partnerToken({ room: 'org-a-board', name: 'B', role: 'participant' }), 'org-a-board')),
    /UNAUTHORIZED: .*may not admit to this room/,
  );
  assert.equal(
    (
      await v.verify(
        await partnerToken({ room: 'partner-b-weekly', name: 'B', role: 'participant' }),
        'partner-b-weekly',
      )
    ).role,
    'participant',
  );
  assert.equal(
    (await v.verify(await partnerToken({ room: 'joint-board', name: 'B', role: 'guest' }), 'joint-board')).role,
    'guest',
  );
  // The pattern is anchored: a prefix elsewhere in the name does not count.
  assert.match(
    await reason(
      v.verify(await partnerToken({ room: 'x-partner-b-1', name: 'B', role: 'participant' }), 'x-partner-b-1'),
    ),
    /may not admit/,
  );
  // Moderator and media rules are not the partner's to grant by default.
  assert.match(
    await reason(v.verify(await partnerToken({ room: 'partner-b-1', name: 'B', role: 'moderator' }), 'partner-b-1')),
    /may not grant the role moderator/,
  );
  assert.match(
    await reason(
      v.verify(
        await partnerToken({ room: 'partner-b-1', name: 'B', role: 'participant', media: { operators: ['op-b'] } }),
        'partner-b-1',
      ),
    ),
    /may not set media rules/,
  );
  // The deployment's own issuer may do all of it.
  assert.equal(
    (
      await v.verify(
        await hs({ room: 'org-a-board', name: 'A', role: 'moderator', media: { jurisdictions: ['DE'] } }),
        'org-a-board',
      )
    ).role,
    'moderator',
  );
  // Configured: the partner may grant moderator and set media rules in its rooms.
  const trusting = new JoinTokenVerifier([
    {
      issuer: 'partner-b',
      jwks: { keys: [partnerJwk] },
      rooms: ['partner-b-*'],
      roles: ['moderator', 'participant'],
      mediaClaims: true,
    },
  ]);
  const c = await trusting.verify(
    await partnerToken({ room: 'partner-b-1', name: 'B', role: 'moderator', media: { operators: ['op-b'] } }),
    'partner-b-1',
  );
  assert.deepEqual([c.role, c.media], ['moderator', { operators: ['op-b'] }]);
  assert.match(
    await reason(trusting.verify(await partnerToken({ room: 'partner-b-1', name: 'B', role: 'guest' }), 'partner-b-1')),
    /may not grant the role guest/,
  );
});

test('aud is required and must be this deployment', async () => {
  const v = verifier();
  assert.match(await reason(v.verify(await hs(claims, { aud: null }), 'r1')), /UNAUTHORIZED: .*aud/);
  assert.match(await reason(v.verify(await hs(claims, { aud: 'another-deployment' }), 'r1')), /UNAUTHORIZED: .*aud/);
  const own = new JoinTokenVerifier([OWN], { audience: 'meet.example.org' });
  assert.match(await reason(own.verify(await hs(), 'r1')), /aud/);
  assert.equal((await own.verify(await hs(claims, { aud: 'meet.example.org' }), 'r1')).name, 'Anna');
});

test('a token may live at most the configured lifetime (24 h by default)', async () => {
  const v = verifier();
  const now = Math.floor(Date.now() / 1000);
  const year2200 = Math.floor(Date.UTC(2200, 0, 1) / 1000);
  assert.match(await reason(v.verify(await hs(claims, { exp: year2200 }), 'r1')), /UNAUTHORIZED: .*lifetime/);
  assert.match(await reason(v.verify(await hs(claims, { exp: year2200, iat: null }), 'r1')), /lifetime/);
  // An iat in the future does not make a long-lived token short.
  assert.match(await reason(v.verify(await hs(claims, { exp: year2200, iat: year2200 - 60 }), 'r1')), /lifetime/);
  assert.match(await reason(v.verify(await hs(claims, { exp: '25h' }), 'r1')), /lifetime/);
  assert.equal(await reason(v.verify(await hs(claims, { exp: '23h' }), 'r1')), 'accepted');
  assert.equal(await reason(v.verify(await hs(claims, { exp: now + 3600, iat: null }), 'r1')), 'accepted');
  // Issued 20 h ago for 30 h: its lifetime is 30 h, although only 10 h remain.
  assert.match(
    await reason(v.verify(await hs(claims, { iat: now - 20 * 3600, exp: now + 10 * 3600 }), 'r1')),
    /lifetime/,
  );
  const short = new JoinTokenVerifier([OWN], { maxLifetimeSeconds: 600 });
  assert.match(await reason(short.verify(await hs(claims, { exp: '20m' }), 'r1')), /lifetime/);
});

test('identity: issuer + sub, else issuer + jti, else the token itself; never the raw values', async () => {
  const v = new JoinTokenVerifier([
    OWN,
    { issuer: 'partner-b', jwks: { keys: [partnerJwk] }, rooms: ['*'], multipleSessions: true },
  ]);
  const a1 = await v.verify(await hs({ ...claims, sub: 'u-1' }), 'r1');
  const a2 = await v.verify(await hs({ ...claims, sub: 'u-1', name: 'Anna B.' }, { exp: '20m' }), 'r1');
  assert.equal(a1.identity, a2.identity);
  assert.equal(a1.multipleSessions, false);
  const other = await v.verify(await partnerToken({ ...claims, sub: 'u-1' }), 'r1');
  assert.notEqual(other.identity, a1.identity, 'the same sub at another issuer is another person');
  assert.equal(other.multipleSessions, true);
  const j1 = await v.verify(await hs({ ...claims, jti: 'inv-7' }), 'r1');
  assert.equal(j1.identity, (await v.verify(await hs({ ...claims, jti: 'inv-7' }, { exp: '30m' }), 'r1')).identity);
  assert.notEqual(j1.identity, a1.identity);
  const t = await hs(claims, { exp: '11m' });
  assert.equal((await v.verify(t, 'r1')).identity, (await v.verify(t, 'r1')).identity);
  assert.notEqual(
    (await v.verify(t, 'r1')).identity,
    (await v.verify(await hs(claims, { exp: '12m' }), 'r1')).identity,
  );
  for (const c of [a1, j1]) assert.doesNotMatch(c.identity, /u-1|inv-7|treffpunkt/);
});

test("a hanging JWKS URL refuses the token after the JWKS timeout, not jose's 5 s", async () => {
  const pending: IncomingMessage[] = [];
  const hanging = createServer((req) => void pending.push(req));
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
  const port = (hanging.address() as { port: number }).port;
  try {
    const v = new JoinTokenVerifier(
      [{ issuer: 'https://slow-idp.example', jwksUrl: `http://127.0.0.1:${port}/jwks`, rooms: ['*'] }],
      { jwksTimeoutMs: 300 },
    );
    const started = Date.now();
    assert.match(
      await reason(v.verify(await idpToken(idpKey, claims, 'https://slow-idp.example'), 'r1')),
      /UNAUTHORIZED: .*could not be fetched in time/,
    );
    const took = Date.now() - started;
    assert.ok(took < 2_000, `refused after ${took} ms`);
  } finally {
    hanging.closeAllConnections();
    hanging.close();
  }
});

test('config: issuers need rooms; http JWKS only on loopback; no issuer twice', () => {
  const problems = (issuers: unknown, extra: Record<string, string> = {}) => {
    try {
      parseEdgeConfig({
        TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef',
        TREFFPUNKT_TRUSTED_ISSUERS: JSON.stringify(issuers),
        ...extra,
      });
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
  };
  assert.match(
    problems([{ issuer: 'idp', jwksUrl: 'http://idp.example.org/jwks', rooms: ['*'] }]),
    /TREFFPUNKT_TRUSTED_ISSUERS.*https:\/\/ \(http:\/\/ only on loopback/,
  );
  assert.match(problems([{ issuer: 'idp', jwksUrl: 'http://10.0.0.5/jwks', rooms: ['*'] }]), /only on loopback/);
  assert.equal(problems([{ issuer: 'idp', jwksUrl: 'https://idp.example.org/jwks', rooms: ['*'] }]), 'ok');
  assert.equal(problems([{ issuer: 'idp', jwksUrl: 'http://127.0.0.1:8000/jwks', rooms: ['*'] }]), 'ok');
  assert.equal(problems([{ issuer: 'idp', jwksUrl: 'http://[::1]:8000/jwks', rooms: ['*'] }]), 'ok');
  assert.match(problems([{ issuer: 'idp', jwksUrl: 'https://idp.example.org/jwks' }]), /rooms/);
  assert.match(problems([{ issuer: 'idp', rooms: ['*'] }]), /exactly one of hs256Secret, jwksUrl or jwks/);
  assert.match(
    problems([{ issuer: 'idp', rooms: ['*'], hs256Secret: SECRET, jwksUrl: 'https://idp.example.org/jwks' }]),
    /exactly one/,
  );
  assert.match(
    problems([{ issuer: 'idp', jwksUrl: 'https://idp.example.org/jwks', rooms: ['a b'] }]),
    /room name or pattern/,
  );
  assert.match(
    problems([{ issuer: 'idp', jwksUrl: 'https://idp.example.org/jwks', rooms: ['*'], roles: ['admin'] }]),
    /TREFFPUNKT_TRUSTED_ISSUERS/,
  );
  assert.match(
    problems([
      { issuer: 'idp', jwksUrl: 'https://a.example/jwks', rooms: ['*'] },
      { issuer: 'idp', jwksUrl: 'https://b.example/jwks', rooms: ['*'] },
    ]),
    /twice/,
  );
  assert.match(
    problems([{ issuer: 'treffpunkt', hs256Secret: SECRET, rooms: ['*'] }], { TREFFPUNKT_JOIN_TOKEN_SECRET: SECRET }),
    /treffpunkt/,
  );
  const c = parseEdgeConfig({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef', TREFFPUNKT_JOIN_TOKEN_SECRET: SECRET });
  assert.deepEqual(
    [c.tokenAudience, c.tokenMaxLifetimeSeconds, c.jwksTimeoutMs, c.removalBarMs],
    ['treffpunkt', 86_400, 2_000, 600_000],
  );
});
