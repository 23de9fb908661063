/**
 * The local certificates of `npm start -- --lan` (scripts/local-network.ts), made by the real openssl: a
 * kept authority, and a server certificate for the LAN address that is made again when the address changes.
 * test/e2e/lan.test.ts has browsers use them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localTls } from '../../scripts/local-network.ts';

test('a server certificate for the address, signed by a local authority that is kept', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-local-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = localTls('10.20.30.40', dir);
  const ca = new X509Certificate(readFileSync(first.caFile));
  const cert = new X509Certificate(readFileSync(first.certFile));
  assert.equal(ca.ca, true);
  assert.equal(cert.ca, false, 'Firefox refuses an authority used as the server certificate');
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the local authority');
  assert.ok(cert.checkIP('10.20.30.40') && cert.checkIP('127.0.0.1') && cert.checkHost('localhost'));
  assert.equal(first.caFingerprint, ca.fingerprint256);
  for (const key of [join(dir, 'ca-key.pem'), first.keyFile]) assert.equal(statSync(key).mode & 0o777, 0o600);

  const again = localTls('10.20.30.40', dir);
  assert.equal(new X509Certificate(readFileSync(again.certFile)).fingerprint256, cert.fingerprint256, 'kept');
  const moved = localTls('192.168.7.8', dir);
  const movedCert = new X509Certificate(readFileSync(moved.certFile));
  assert.equal(moved.caFingerprint, first.caFingerprint, 'the same authority: devices trust it once');
  assert.ok(movedCert.checkIP('192.168.7.8') && !movedCert.checkIP('10.20.30.40'), 'made again for the new address');
});
