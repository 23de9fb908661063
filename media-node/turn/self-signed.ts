/**
 * A self-signed certificate for coturn's TLS listener when the operator configured none (local runs and
 * tests): made by the openssl command line (no crypto of our own), EC P-256, valid 30 days, for the host
 * in the turns: URL. Browsers refuse it (Chromium checks TURN/TLS certificates like any other), so it only
 * lets TURN/TLS be tried locally; a reachable node needs a real certificate (docs/turn.md).
 */
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface CertificatePair {
  certFile: string;
  keyFile: string;
}

/** Writes `turn-tls.crt` and `turn-tls.key` (mode 600) into `dir` for `host` (an IP address or DNS name). */
export async function selfSignedPair(dir: string, host: string, openssl = 'openssl'): Promise<CertificatePair> {
  const certFile = join(dir, 'turn-tls.crt');
  const keyFile = join(dir, 'turn-tls.key');
  const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=treffpunkt-turn');
  args.push('-addext', `subjectAltName=${san}`);
  try {
    await promisify(execFile)(openssl, args, { timeout: 15_000 });
  } catch (err) {
    throw new Error(
      `cannot make a self-signed TURN/TLS certificate with ${openssl} (install openssl, or set TREFFPUNKT_TURN_TLS_CERT_FILE and _KEY_FILE): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  // `dir` is coturn's private directory (mode 700); the key is made private as well, whatever the umask.
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}
