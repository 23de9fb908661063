/**
 * The edge's per-node request checks without a network: replay caches and rate limits per node
 * (edge/core/node-guard.ts), pinned identities (node-identity.ts) and which URLs may carry node traffic
 * (shared/transport-security.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeGuard, REGISTRY_PER_SECOND } from '../../edge/core/node-guard.ts';
import { ThrottledWarnings } from '../../shared/throttled-warnings.ts';
import { checkRegistration, type RegistrationRefused } from '../../edge/core/node-identity.ts';
import { isBareOrigin, isInsecureUrl, isLoopbackHost } from '../../shared/transport-security.ts';
import { NonceCache } from '../../shared/request-signing.ts';

test('node guard: one node over its limit and with its cache full leaves another node untouched', () => {
  const guard = new NodeGuard(5);
  const now = 1_000_000;
  let admitted = 0;
  for (let i = 0; i < 10_000; i++)
    if (guard.admit('a', 'registry', now) && guard.remember('a', `a-nonce-${i}`, now)) admitted++;
  assert.ok(admitted <= 30, `${admitted} of 10,000 requests in one instant were admitted`);
  assert.equal(guard.admit('b', 'registry', now), true, 'node B has its own bucket');
  assert.equal(guard.remember('b', 'b-nonce', now), true, 'and its own replay cache');
  assert.equal(guard.remember('b', 'b-nonce', now), false, 'a replay is still a replay');
  // Events have their own bucket: a chatty node's events never use up its heartbeats.
  for (let i = 0; i < 100; i++) guard.admit('c', 'events', now);
  assert.equal(guard.admit('c', 'events', now), false);
  assert.equal(guard.admit('c', 'registry', now), true);
  // A rate, not a ban: a second later, node A gets tokens again.
  assert.equal(guard.admit('a', 'registry', now + 1_000), true);
  assert.ok(REGISTRY_PER_SECOND >= 3, 'heartbeats every 333 ms fit');
});

test('node guard: within its limits a node never finds its replay cache full', () => {
  const guard = new NodeGuard(10);
  let t = 0;
  // Ten minutes of a node at exactly its event and registry rates.
  for (let i = 0; i < 600 * 10; i++, t += 100) {
    assert.equal(guard.admit('a', 'events', t), true);
    assert.equal(guard.remember('a', `e-${i}`, t), true, `event ${i}`);
    if (i % 5 === 0) {
      assert.equal(guard.admit('a', 'registry', t), true);
      assert.equal(guard.remember('a', `r-${i}`, t), true);
    }
  }
});

test('nonce cache: expired nonces are dropped, live ones kept, a full cache refuses', () => {
  const cache = new NonceCache(3);
  assert.equal(cache.remember('n1', 0), true);
  assert.equal(cache.remember('n2', 0), true);
  assert.equal(cache.remember('n3', 0), true);
  assert.equal(cache.remember('n4', 1), false, 'full of live nonces: refused rather than forgetting one');
  assert.equal(cache.remember('n4', 61_000), true, 'a minute later the old ones have expired');
  assert.equal(cache.size, 1);
});

test('throttled warnings: one line per key and interval, with the count of the rest', () => {
  const lines: number[] = [];
  const w = new ThrottledWarnings(10_000);
  for (let i = 0; i < 1000; i++) w.warn('a', (n) => lines.push(n), i);
  w.warn('b', (n) => lines.push(n), 5);
  w.warn('a', (n) => lines.push(n), 10_001);
  assert.deepEqual(lines, [0, 0, 999]);
});

const reg = {
  nodeId: 'n-1',
  controlUrl: 'https://media.example.org:4000',
  region: 'eu',
  operator: 'evil-corp',
  jurisdiction: 'US',
  load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
};

test('pinned identity: pinned fields must match, an absent jurisdiction takes the pinned one', () => {
  const pin = { operator: 'evil-corp', jurisdiction: 'US', controlOrigin: 'https://media.example.org:4000' };
  assert.deepEqual(checkRegistration(reg, pin, false), reg);
  const { jurisdiction: _, ...noJurisdiction } = reg;
  assert.equal(checkRegistration(noJurisdiction, pin, false).jurisdiction, 'US');
  const refused = (r: typeof reg, why: string) =>
    assert.throws(
      () => checkRegistration(r, pin, false),
      (e: RegistrationRefused) => e.code === 'FORBIDDEN' && e.reason === why,
    );
  refused({ ...reg, operator: 'trusted-op' }, 'operator');
  refused({ ...reg, jurisdiction: 'DE' }, 'jurisdiction');
  refused({ ...reg, controlUrl: 'https://elsewhere.example.org:4000' }, 'controlOrigin');
  refused({ ...reg, controlUrl: 'https://media.example.org:4001' }, 'controlOrigin');
  // Unpinned: the node's word, as before.
  assert.equal(checkRegistration({ ...reg, operator: 'anyone' }, undefined, false).operator, 'anyone');
});

test('plain http: refused beyond loopback unless allowed', () => {
  const http = { ...reg, controlUrl: 'http://10.0.0.5:4000' };
  assert.throws(
    () => checkRegistration(http, undefined, false),
    (e: RegistrationRefused) => e.reason === 'insecure controlUrl',
  );
  assert.equal(checkRegistration(http, undefined, true).controlUrl, 'http://10.0.0.5:4000');
  for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', 'a.localhost'])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['10.0.0.5', 'example.org', '127.0.0.1.example.org', '::ffff:10.0.0.1'])
    assert.equal(isLoopbackHost(h), false, h);
  assert.equal(isInsecureUrl('http://127.0.0.1:8080'), false);
  assert.equal(isInsecureUrl('http://[::1]:8080'), false);
  assert.equal(isInsecureUrl('https://meet.example.org'), false);
  assert.equal(isInsecureUrl('http://meet.example.org'), true);
  for (const u of ['https://a.example:4000', 'https://a.example/', 'http://127.0.0.1:9'])
    assert.equal(isBareOrigin(u), true, u);
  for (const u of [
    'https://a.example/x',
    'https://a.example/?',
    'https://a.example#',
    'https://u@a.example',
    'not a url',
  ])
    assert.equal(isBareOrigin(u), false, u);
});
