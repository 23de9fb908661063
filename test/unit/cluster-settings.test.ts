/**
 * The edge cluster's settings and relay messages (edge/cluster/): what turns the cluster on, what is
 * refused, and that messages between edges are parsed by their schemas, not trusted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnerAck, roomSubject, ToOwner, ToRelay } from '../../edge/cluster/relay-messages.ts';
import { parseClusterSettings } from '../../edge/cluster/settings.ts';

test('no TREFFPUNKT_NATS_URL: a lone edge', () => {
  assert.equal(parseClusterSettings({}), undefined);
});

test('the cluster settings are parsed, with defaults and a generated edge id', () => {
  const s = parseClusterSettings({ TREFFPUNKT_NATS_URL: 'nats://a:4222, tls://b:4222' })!;
  assert.deepEqual(s.servers, ['nats://a:4222', 'tls://b:4222']);
  assert.equal(s.replicas, 1);
  assert.equal(s.leaseMs, 6_000);
  assert.match(s.edgeId, /^[A-Za-z0-9_-]{1,64}$/);
  assert.notEqual(parseClusterSettings({ TREFFPUNKT_NATS_URL: 'nats://a:4222' })!.edgeId, s.edgeId);
  const full = parseClusterSettings({
    TREFFPUNKT_NATS_URL: 'tls://a:4222',
    TREFFPUNKT_NATS_USER: 'edges',
    TREFFPUNKT_NATS_PASSWORD: 'secret-password',
    TREFFPUNKT_NATS_TLS_CA: '/etc/ca.pem',
    TREFFPUNKT_NATS_REPLICAS: '3',
    TREFFPUNKT_EDGE_ID: 'ulm-1',
    TREFFPUNKT_ROOM_LEASE_MS: '10000',
  })!;
  assert.deepEqual(full.auth, { user: 'edges', password: 'secret-password' });
  assert.equal(full.tlsCa, '/etc/ca.pem');
  assert.equal(full.replicas, 3);
  assert.equal(full.edgeId, 'ulm-1');
  assert.equal(full.leaseMs, 10_000);
});

test('bad cluster settings are refused with the setting named', () => {
  const refused = (env: Record<string, string>) =>
    assert.throws(() => parseClusterSettings({ TREFFPUNKT_NATS_URL: 'nats://a:4222', ...env }));
  assert.throws(() => parseClusterSettings({ TREFFPUNKT_NATS_URL: 'http://a:4222' }), /TREFFPUNKT_NATS_URL/);
  refused({ TREFFPUNKT_EDGE_ID: 'a.b' }); // would break the NATS subject
  refused({ TREFFPUNKT_EDGE_ID: '*' });
  refused({ TREFFPUNKT_NATS_REPLICAS: '7' });
  refused({ TREFFPUNKT_ROOM_LEASE_MS: '100' });
  assert.throws(
    () => parseClusterSettings({ TREFFPUNKT_NATS_URL: 'nats://a:4222', TREFFPUNKT_NATS_USER: 'u' }),
    /TREFFPUNKT_NATS_PASSWORD/,
  );
});

test('relay messages are parsed by their schemas; anything else is refused', () => {
  assert.ok(ToOwner.safeParse({ kind: 'frame', edge: 'e1', conn: 'abc123' }).success);
  assert.ok(ToOwner.safeParse({ kind: 'open', edge: 'e1', conn: 'abc123', participant: 'p1' }).success);
  assert.ok(!ToOwner.safeParse({ kind: 'frame', edge: 'e1.x', conn: 'abc123' }).success, 'edge id with a dot');
  assert.ok(!ToOwner.safeParse({ kind: 'frame', edge: 'e1', conn: 'a/b' }).success, 'conn id');
  assert.ok(!ToOwner.safeParse({ kind: 'admin', edge: 'e1' }).success, 'unknown kind');
  assert.ok(ToRelay.safeParse({ kind: 'close', edge: 'e1', room: 'r', conn: 'c1', code: '1012', reason: 'x' }).success);
  assert.ok(!ToRelay.safeParse({ kind: 'close', edge: 'e1', room: 'r', conn: 'c1', code: '99', reason: '' }).success);
  assert.ok(!ToRelay.safeParse({ kind: 'frame', edge: 'e1', room: 'a.b', conn: 'c1' }).success, 'room name');
  assert.ok(OwnerAck.safeParse({ ok: false, code: 'NOT_OWNER' }).success);
  assert.ok(!OwnerAck.safeParse({ ok: false, code: 'WHATEVER' }).success);
  assert.equal(roomSubject('team-1'), 'treffpunkt.room.team-1.in');
});
