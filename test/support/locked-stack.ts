/**
 * The stack of the locked-network tests and the transports benchmark, inside a test's network namespace
 * (locked-down-network.ts): the Node edge on 127.0.0.1:443, one media node with coturn on 127.0.0.2 (UDP and TCP 3478,
 * TLS 443 with a certificate made here, as an operator's would be), and the fingerprint Chromium is told
 * to trust (--ignore-certificate-errors-spki-list): Chromium checks TURN/TLS certificates.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, startStack } from './stack.ts';

/** Where coturn listens (the edge has 127.0.0.1:443). */
export const TURN_IP = '127.0.0.2';

export interface LockedStack {
  stack: Stack;
  /** Base64 SHA-256 of the TURN certificate's public key, for Chromium. */
  spki: string;
  /** A private scratch directory, removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export async function startLockedStack(): Promise<LockedStack> {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-tls-'));
  try {
    const [cert, key] = [join(dir, 'turn.crt'), join(dir, 'turn.key')];
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=turn.test'],
        ...['-addext', `subjectAltName=IP:${TURN_IP}`],
      ],
      { stdio: 'ignore' },
    );
    chmodSync(key, 0o600);
    const der = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
    const spki = createHash('sha256').update(der).digest('base64');
    const stack = await startStack({
      runtime: 'node',
      workers: 1,
      edgePort: 443,
      mediaNodeEnv: {
        TREFFPUNKT_TURN_MODE: 'coturn',
        TREFFPUNKT_TURN_PORT: '3478',
        TREFFPUNKT_TURN_LISTEN_IP: TURN_IP,
        TREFFPUNKT_TURN_TLS_PORT: '443',
        TREFFPUNKT_TURN_TLS_CERT_FILE: cert,
        TREFFPUNKT_TURN_TLS_KEY_FILE: key,
        // The SFU is on this namespace's loopback; coturn must relay there (never on a real node).
        TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS: 'true',
      },
    });
    return {
      stack,
      spki,
      dir,
      stop: async () => {
        await stack.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
