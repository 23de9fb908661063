/**
 * TURN over TLS with coturn (issue 16), in a real media node process: the node announces a `turns:` URL
 * next to the UDP and TCP ones, and coturn's own client (turnutils_uclient -S, TLS over TCP) allocates and
 * relays through the TLS listener with the node's REST credentials and the self-signed pair the node made.
 * The settings refuse a half-configured or world-readable certificate/key and a TLS port that collides; a
 * TLS listener that does not answer (port 443 without the capability) is an error naming the fixes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { loadMediaNodeConfig } from '../../media-node/config.ts';
import { coturnConfig, waitForTls } from '../../media-node/turn/coturn.ts';
import { freePortBlock } from '../support/stack.ts';
import { startTurnNode, type TurnNode } from '../support/turn-node.ts';

const has = (bin: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const skip = has('turnserver') && has('turnutils_uclient') ? false : 'coturn not installed (scripts/setup.sh --test)';

let node: TurnNode;
let peer: ChildProcess;
let peerPort: number;
before(async () => {
  if (skip) return;
  peerPort = await freePortBlock(1);
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  node = await startTurnNode({ mode: 'coturn', allowLoopbackPeers: true });
});
after(async () => {
  peer?.kill('SIGKILL');
  await node?.stop();
});

test('coturn announces turns: and relays over TLS with the REST credentials', { skip, timeout: 120_000 }, async () => {
  const urls = node.turn.urls;
  const tls = urls.find((u) => u.startsWith('turns:'));
  assert.ok(tls, `a turns: URL among ${urls.join(', ')}`);
  const m = /^turns:127\.0\.0\.1:(\d+)\?transport=tcp$/.exec(tls);
  assert.ok(m, tls);
  const tlsPort = Number(m[1]);
  assert.deepEqual(
    urls.filter((u) => u.startsWith('turn:')).map((u) => u.replace(/:\d+\?/, ':P?')),
    ['turn:127.0.0.1:P?transport=udp', 'turn:127.0.0.1:P?transport=tcp'],
  );
  // The listener speaks TLS 1.2 or later, with the node's self-signed certificate.
  const proto = await new Promise<string | null>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false }, () => {
      const cert = s.getPeerCertificate();
      assert.match(cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
      resolve(s.getProtocol());
      s.destroy();
    });
    s.once('error', reject);
  });
  assert.ok(proto === 'TLSv1.2' || proto === 'TLSv1.3', `protocol ${proto}`);
  // coturn's own client over TLS: allocate, permission, channel, 10 messages to turnutils_peer and back.
  // uclient picks one of its TLS contexts at random per connection, TLS 1.0 and 1.1 among them; coturn
  // (no-tlsv1, no-tlsv1_1) leaves such a hello unanswered until it drops the connection 60 s later, so
  // without -F most runs hung (24 of 30). A TLS 1.2-only cipher suite makes every connection TLS 1.2
  // (20 of 20 ran through, 1.4-6 s each).
  const args = [
    ...['-t', '-S', '-F', 'ECDHE-ECDSA-AES256-GCM-SHA384', '-c', '-n', '10', '-m', '1'],
    ...['-W', node.turn.secret, '-u', 'tls-user'],
    ...['-e', '127.0.0.1', '-r', String(peerPort), '-p', String(tlsPort), '127.0.0.1'],
  ];
  const run = spawnSync('turnutils_uclient', args, { encoding: 'utf8', timeout: 60_000 });
  const out = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, `uclient over TLS exited ${run.status ?? run.signal}:\n${out.slice(-2000)}`);
  const lost = /Total lost packets (\d+)/.exec(out);
  const received = [...out.matchAll(/tot_recv_msgs=(\d+)/g)].map((x) => Number(x[1])).pop() ?? 0;
  assert.ok(lost && Number(lost[1]) === 0 && received > 0, `relayed over TLS without loss:\n${out.slice(-1500)}`);
  assert.match(node.output(), /coturn listening \(UDP, TCP and TLS\)/);
  assert.doesNotMatch(node.output(), /BEGIN (EC )?PRIVATE KEY/, 'the key is never logged');
});

test('the TLS lines of turnserver.conf, and a TLS listener that does not answer is a clear error', async () => {
  const opts = {
    bin: 'turnserver',
    ...{ listenIp: '127.0.0.1', port: 3478, relayIp: '127.0.0.1', minPort: 49152, maxPort: 65535 },
    ...{ secret: 's'.repeat(20), realm: 'r', allowLoopback: false, userQuota: 12, totalQuota: 100 },
    ...{ maxLifetimeSeconds: 600, nonceLifetimeSeconds: 60, expirySweepSeconds: 10 },
  };
  const cli = { port: 5766, password: 'p' };
  const withTls = coturnConfig(opts, '/run/x', cli, { port: 443, certFile: '/etc/c.pem', keyFile: '/etc/k.pem' });
  for (const line of [
    'tls-listening-port=443',
    'cert=/etc/c.pem',
    'pkey=/etc/k.pem',
    'no-tlsv1',
    'no-tlsv1_1',
    'no-dtls',
  ])
    assert.ok(withTls.split('\n').includes(line), line);
  assert.ok(!withTls.split('\n').includes('no-tls'));
  assert.ok(coturnConfig(opts, '/run/x', cli).split('\n').includes('no-tls'), 'without TLS: no-tls');
  // Nothing listens on this port: what a node without CAP_NET_BIND_SERVICE for port 443 would see.
  const closed = await freePortBlock(1);
  await assert.rejects(
    waitForTls('127.0.0.1', closed, 300),
    /did not answer.*CAP_NET_BIND_SERVICE.*TREFFPUNKT_TURN_TLS_PORT/,
  );
});

test('TLS settings: both files or none, a private key, a port of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-tls-conf-'));
  try {
    const [cert, key] = [join(dir, 'c.pem'), join(dir, 'k.pem')];
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=t'],
      ],
      { stdio: 'ignore' },
    );
    chmodSync(key, 0o600);
    const base = {
      TREFFPUNKT_NODE_ID: 'n1',
      TREFFPUNKT_NODE_SECRET: 's'.repeat(20),
      TREFFPUNKT_EDGE_URL: 'http://127.0.0.1:8080',
      TREFFPUNKT_TURN_MODE: 'coturn',
    };
    const problems = (env: Record<string, string>) => {
      try {
        loadMediaNodeConfig([], { ...base, ...env });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const ok = loadMediaNodeConfig([], {
      ...base,
      TREFFPUNKT_TURN_TLS_CERT_FILE: cert,
      TREFFPUNKT_TURN_TLS_KEY_FILE: key,
      TREFFPUNKT_TURN_TLS_HOST: 'turn.example.org',
    });
    assert.deepEqual(ok.turn.tls, { port: 443, host: 'turn.example.org', certFile: cert, keyFile: key });
    assert.deepEqual(loadMediaNodeConfig([], base).turn.tls, { port: 443 }, 'default: 443, self-signed');
    assert.equal(loadMediaNodeConfig([], { ...base, TREFFPUNKT_TURN_TLS_PORT: '0' }).turn.tls, undefined);
    assert.equal(loadMediaNodeConfig([], { ...base, TREFFPUNKT_TURN_MODE: 'embedded' }).turn.tls, undefined);
    assert.match(problems({ TREFFPUNKT_TURN_TLS_CERT_FILE: cert }), /set both TREFFPUNKT_TURN_TLS_CERT_FILE and/);
    assert.match(
      problems({ TREFFPUNKT_TURN_TLS_PORT: '3478' }),
      /TREFFPUNKT_TURN_TLS_PORT.*must differ from turn-port/,
    );
    assert.match(problems({ TREFFPUNKT_TURN_TLS_PORT: '50000' }), /TREFFPUNKT_TURN_TLS_PORT.*relay port range/);
    assert.match(problems({ TREFFPUNKT_TURN_TLS_PORT: '70000' }), /TREFFPUNKT_TURN_TLS_PORT.*0-65535/);
    assert.match(problems({ TREFFPUNKT_TURN_TLS_HOST: 'not a host' }), /TREFFPUNKT_TURN_TLS_HOST.*DNS name/);
    chmodSync(key, 0o644);
    const readable = problems({ TREFFPUNKT_TURN_TLS_CERT_FILE: cert, TREFFPUNKT_TURN_TLS_KEY_FILE: key });
    assert.match(readable, /TREFFPUNKT_TURN_TLS_KEY_FILE.*readable by group or others/);
    writeFileSync(join(dir, 'bad.pem'), 'no certificate here');
    assert.match(
      problems({ TREFFPUNKT_TURN_TLS_CERT_FILE: join(dir, 'bad.pem'), TREFFPUNKT_TURN_TLS_KEY_FILE: key }),
      /TREFFPUNKT_TURN_TLS_CERT_FILE.*no PEM certificate/,
    );
    assert.match(
      problems({ TREFFPUNKT_TURN_TLS_CERT_FILE: join(dir, 'missing.pem'), TREFFPUNKT_TURN_TLS_KEY_FILE: key }),
      /TREFFPUNKT_TURN_TLS_CERT_FILE.*cannot read/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
