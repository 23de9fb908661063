/**
 * The TURN hardening that needs no network: the peer policy (which addresses a relay may reach), the
 * packet classifier in front of node-turn, the coturn configuration and the TURN settings. Addresses here
 * are only evaluated as strings; nothing is sent anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { createPeerPolicy, coturnDeniedPeerRanges, cidrToRange } from '../../media-node/turn/peer-policy.ts';
import { classifyPacket, encodeErrorResponse } from '../../media-node/turn/stun-packet.ts';
import { coturnConfig, parseCoturnSessions } from '../../media-node/turn/coturn.ts';
import { loadMediaNodeConfig, ConfigError } from '../../media-node/config.ts';
import { A, C, M, encodeStun, decodeStun, xorAddress } from '../support/turn-client.ts';

const REFUSED_BY_DEFAULT = [
  '127.0.0.1',
  '127.8.9.10',
  '10.0.0.1',
  '172.16.5.4',
  '172.31.255.255',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '0.0.0.0',
  '224.0.0.1',
  '255.255.255.255',
  '::1',
  '0:0:0:0:0:0:0:1',
  '::',
  'fd00::1',
  'fc12:3456::1',
  'fe80::1',
  'ff02::1',
  '::ffff:10.0.0.1',
  '::ffff:127.0.0.1',
  '64:ff9b::a00:1',
  '2002:c0a8:101::1',
  '::c0a8:101',
  'not-an-ip',
];

test('peer policy: loopback, private, link-local and special addresses are refused by default', () => {
  const policy = createPeerPolicy({ allowLoopback: false, skipInterfaces: true });
  for (const ip of REFUSED_BY_DEFAULT) assert.ok(policy(ip), `${ip} refused`);
  for (const ip of ['8.8.8.8', '193.99.144.80', '2a00:1450:4001:82b::200e', '172.32.0.1', '11.0.0.1'])
    assert.equal(policy(ip), undefined, `${ip} allowed`);
});

test('peer policy: the development setting allows loopback only, never the TURN port itself', () => {
  const policy = createPeerPolicy({ allowLoopback: true, skipInterfaces: true, protectedPorts: new Set([3478]) });
  assert.equal(policy('127.0.0.1', 40000), undefined);
  assert.equal(policy('::1', 40000), undefined);
  assert.match(policy('127.0.0.1', 3478)!, /own port/);
  for (const ip of ['10.0.0.1', '192.168.1.1', 'fd00::1', '169.254.169.254'])
    assert.ok(policy(ip), `${ip} still refused`);
});

test("peer policy: the node's own addresses only on its WebRTC ports", () => {
  const policy = createPeerPolicy({
    allowLoopback: false,
    skipInterfaces: true,
    ownAddresses: ['198.51.100.20', '10.1.2.3'],
    sfuPorts: [40000, 40001],
  });
  assert.equal(policy('198.51.100.20', 40001), undefined, "the SFU on the node's public address");
  assert.equal(policy('10.1.2.3', 40000), undefined, "the SFU on the node's private listen address");
  assert.match(policy('198.51.100.20', 4000)!, /own addresses/, 'the control API port');
  assert.match(policy('10.1.2.3', 22)!, /own addresses/);
  assert.ok(
    createPeerPolicy({ allowLoopback: false, skipInterfaces: true, ownAddresses: ['198.51.100.20'] })('198.51.100.20'),
    'no SFU ports: own address refused',
  );
});

test("peer policy: the node's WebRTC ports on loopback, without allowing loopback (the all-in-one's relay)", () => {
  // Issue 15: the loopback rule came first, so TURN answered 403 for an SFU on 127.0.0.1 (`npm start`'s).
  const policy = createPeerPolicy({
    allowLoopback: false,
    skipInterfaces: true,
    ownAddresses: ['127.0.0.1'],
    sfuPorts: [40000],
    protectedPorts: new Set([3478]),
  });
  assert.equal(policy('127.0.0.1'), undefined, 'a permission for the SFU address');
  assert.equal(policy('127.0.0.1', 40000), undefined, 'the SFU port');
  for (const port of [3478, 4000, 22]) assert.ok(policy('127.0.0.1', port), `port ${port} refused`);
  assert.equal(policy('127.0.0.2', 40000), 'loopback', 'another loopback address is not the SFU');
  assert.equal(policy('::1', 40000), 'loopback', 'nor is IPv6 loopback when the SFU listens on IPv4 only');
  assert.equal(policy('::ffff:127.0.0.1', 40000), undefined, 'the same SFU address, IPv4-mapped');
});

test("peer policy: the machine's interface addresses count as its own, loopback only when the SFU listens there", () => {
  const policy = createPeerPolicy({ allowLoopback: false, sfuPorts: [40000] });
  assert.equal(policy('127.0.0.1', 40000), 'loopback', 'lo is an interface, but the SFU was not said to listen on it');
});

test('coturn gets the same denied ranges', () => {
  assert.equal(cidrToRange('10.0.0.0/8'), '10.0.0.0-10.255.255.255');
  assert.equal(cidrToRange('fc00::/7'), 'fc00:0:0:0:0:0:0:0-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  const ranges = coturnDeniedPeerRanges();
  for (const r of [
    '10.0.0.0-10.255.255.255',
    '172.16.0.0-172.31.255.255',
    '192.168.0.0-192.168.255.255',
    '169.254.0.0-169.254.255.255',
  ])
    assert.ok(ranges.includes(r), r);
  assert.ok(!ranges.some((r) => r.startsWith('127.')), 'loopback is left to allow-loopback-peers');
  assert.ok(!ranges.includes('0:0:0:0:0:0:0:0-0:0:0:0:0:0:0:0'), 'coturn 4.6.1 reads ::-:: as "deny everything"');
  const opts = {
    bin: 'turnserver',
    listenIp: '0.0.0.0',
    port: 3478,
    relayIp: '10.1.2.3',
    externalIp: '198.51.100.20',
    minPort: 49152,
    maxPort: 65535,
    secret: 's'.repeat(20),
    realm: 'treffpunkt',
    allowLoopback: false,
    userQuota: 12,
    totalQuota: 1000,
    maxLifetimeSeconds: 600,
    nonceLifetimeSeconds: 60,
    expirySweepSeconds: 10,
  };
  const cli = { port: 5999, password: 'p'.repeat(24) };
  const conf = coturnConfig(opts, '/run/x', cli);
  const lines = [
    'use-auth-secret',
    `static-auth-secret=${'s'.repeat(20)}`,
    'no-tcp-relay',
    'listening-port=3478',
    'min-port=49152',
    'external-ip=198.51.100.20/10.1.2.3',
    'user-quota=12',
    'denied-peer-ip=10.0.0.0-10.255.255.255',
    // Credential lifetimes: short nonces, bounded allocations, and the CLI for the expiry sweep on loopback only.
    'stale-nonce=60',
    'max-allocate-lifetime=600',
    'cli-ip=127.0.0.1',
    'cli-port=5999',
    `cli-password=${'p'.repeat(24)}`,
    'cli-max-output-sessions=1016',
  ];
  for (const line of lines) assert.ok(conf.split('\n').includes(line), line);
  assert.ok(!conf.includes('allow-loopback-peers'));
  assert.ok(coturnConfig({ ...opts, allowLoopback: true }, '/run/x', cli).includes('\nallow-loopback-peers\n'));
});

test("coturn's CLI session listing is parsed", () => {
  const ps =
    '> \r\n    1) id=000000000000000002, user <1796132537:alice>:\r\n      realm: t\r\n      started 1 secs ago\r\n\r\n    2) id=001000000000000001, user <1796132537:bob>:\r\n      realm: t\r\n\r\n  Total sessions: 2\r\n\r\n> ';
  assert.deepEqual(parseCoturnSessions(ps), [
    { id: '000000000000000002', username: '1796132537:alice' },
    { id: '001000000000000001', username: '1796132537:bob' },
  ]);
  assert.deepEqual(parseCoturnSessions('> \r\n  Total sessions: 0\r\n\r\n> '), []);
});

test('packet classifier: never throws, and passes only well-formed client packets', () => {
  for (let i = 0; i < 20_000; i++) {
    const buf = randomBytes(randomInt(0, 200));
    if (i % 2 && buf.length >= 20) {
      // Past the first checks: a STUN header with the cookie and a matching length.
      buf[0]! &= 0x3f;
      buf.writeUInt32BE(0x2112a442, 4);
      buf.writeUInt16BE((buf.length - 20) & ~3, 2);
    }
    classifyPacket(buf);
  }
  const tid = randomBytes(12);
  const allocate = encodeStun(
    {
      cls: C.REQUEST,
      method: M.ALLOCATE,
      tid,
      attrs: [{ type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) }],
    },
    { fingerprint: true },
  );
  assert.equal(classifyPacket(allocate).kind, 'stun');
  assert.equal(classifyPacket(allocate.subarray(0, allocate.length - 4)).kind, 'invalid', 'truncated');
  const send = encodeStun({
    cls: C.INDICATION,
    method: M.SEND,
    tid,
    attrs: [
      { type: A.XOR_PEER_ADDRESS, value: xorAddress('192.0.2.1', 9, tid) },
      { type: A.DATA, value: Buffer.from('x') },
    ],
  });
  assert.equal(classifyPacket(send).kind, 'stun');
  const response = encodeStun({ cls: C.SUCCESS, method: M.BINDING, tid, attrs: [] });
  assert.equal(classifyPacket(response).kind, 'invalid', 'responses are not for the server');
  const shortEvenPort = encodeStun({
    cls: C.REQUEST,
    method: M.ALLOCATE,
    tid,
    attrs: [{ type: A.EVEN_PORT, value: Buffer.alloc(0) }],
  });
  assert.equal(classifyPacket(shortEvenPort).kind, 'bad-request');
  const unknown = classifyPacket(
    encodeStun({ cls: C.REQUEST, method: M.ALLOCATE, tid, attrs: [{ type: 0x0024, value: Buffer.alloc(4) }] }),
  );
  assert.equal(unknown.kind, 'unknown-attributes');
  assert.deepEqual(unknown.kind === 'unknown-attributes' && unknown.types, [0x0024]);
  const optional = encodeStun({
    cls: C.REQUEST,
    method: M.BINDING,
    tid,
    attrs: [{ type: 0xc057, value: Buffer.alloc(4) }],
  });
  assert.equal(classifyPacket(optional).kind, 'stun', 'unknown comprehension-optional attributes are ignored');
  const channel = classifyPacket(Buffer.from([0x40, 0x01, 0x00, 0x02, 0xaa, 0xbb, 0, 0]));
  assert.deepEqual(channel.kind === 'channel-data' && [channel.channel, [...channel.data]], [0x4001, [0xaa, 0xbb]]);
  assert.equal(classifyPacket(Buffer.from([0x7f, 0xff, 0x00, 0x00])).kind, 'invalid', 'reserved channel');
  assert.equal(
    classifyPacket(Buffer.from([0x40, 0x01, 0x00, 0x09, 1])).kind,
    'invalid',
    'ChannelData longer than the datagram',
  );
  const err = decodeStun(encodeErrorResponse(M.ALLOCATE, tid, 420, 'Unknown Attribute', [0x24]))!;
  assert.equal(err.cls, C.ERROR);
  assert.deepEqual(err.tid, tid);
});

const base = {
  TREFFPUNKT_NODE_ID: 'n1',
  TREFFPUNKT_NODE_SECRET: 's'.repeat(16),
  TREFFPUNKT_EDGE_URL: 'http://127.0.0.1:8080',
  TREFFPUNKT_NODE_WORKERS: '2',
};
const problems = (env: Record<string, string>) => {
  try {
    loadMediaNodeConfig([], { ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
};

test('TURN settings: defaults, a generated secret, and every wrong setting named', () => {
  const c = loadMediaNodeConfig([], base);
  assert.equal(c.turn.mode, 'embedded');
  assert.equal(c.turn.port, 3478);
  assert.equal(c.turn.listenIp, '127.0.0.1');
  assert.equal(c.turn.allowLoopbackPeers, false);
  assert.ok(c.turn.secretGenerated && c.turn.secret.length >= 16);
  assert.notEqual(loadMediaNodeConfig([], base).turn.secret, c.turn.secret, 'a new random secret per start');
  const set = loadMediaNodeConfig(['--turn-mode', 'coturn', '--turn-allow-loopback-peers', 'true'], {
    ...base,
    TREFFPUNKT_TURN_SECRET: 't'.repeat(20),
  });
  assert.deepEqual(
    [set.turn.mode, set.turn.secret, set.turn.secretGenerated, set.turn.allowLoopbackPeers],
    ['coturn', 't'.repeat(20), false, true],
  );

  assert.match(
    problems({ TREFFPUNKT_TURN_MODE: 'stunnel' }),
    /TREFFPUNKT_TURN_MODE \(--turn-mode\): must be embedded, coturn or off/,
  );
  assert.match(problems({ TREFFPUNKT_TURN_SECRET: 'short' }), /TREFFPUNKT_TURN_SECRET.*at least 16/);
  assert.match(
    problems({ TREFFPUNKT_TURN_MIN_PORT: '40500', TREFFPUNKT_TURN_MAX_PORT: '41000' }),
    /TREFFPUNKT_TURN_MIN_PORT.*overlap the worker port range/,
  );
  assert.match(
    problems({ TREFFPUNKT_TURN_MIN_PORT: '39000', TREFFPUNKT_TURN_MAX_PORT: '40000' }),
    /overlap the WebRTC ports/,
  );
  assert.match(problems({ TREFFPUNKT_TURN_PORT: '40001' }), /TREFFPUNKT_TURN_PORT.*WebRTC ports/);
  assert.match(problems({ TREFFPUNKT_TURN_PORT: '50000' }), /TREFFPUNKT_TURN_PORT.*inside the TURN relay port range/);
  assert.match(problems({ TREFFPUNKT_TURN_MODE: 'coturn', TREFFPUNKT_TURN_PORT: '0' }), /fixed port for coturn/);
  assert.match(problems({ TREFFPUNKT_TURN_LISTEN_IP: '0.0.0.0' }), /TREFFPUNKT_TURN_RELAY_IP.*required/);
  assert.match(
    problems({ TREFFPUNKT_TURN_MIN_PORT: '60000', TREFFPUNKT_TURN_MAX_PORT: '60010' }),
    /TREFFPUNKT_TURN_TOTAL_QUOTA.*more relay ports/,
  );
  assert.match(
    problems({ TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS: 'yes' }),
    /TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS.*true or false/,
  );
  assert.match(problems({ TREFFPUNKT_TURN_USER_QUOTA: '0' }), /TREFFPUNKT_TURN_USER_QUOTA.*at least 1/);
  assert.equal(
    problems({ TREFFPUNKT_TURN_MODE: 'off', TREFFPUNKT_TURN_PORT: '40001' }),
    '',
    'off: TURN settings are not checked',
  );
});
