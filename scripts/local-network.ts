/**
 * What `npm start -- --lan` needs to put the all-in-one on the local network (README, "On your local
 * network"): the machine's LAN address, and a certificate for it. Browsers give camera and microphone only
 * to secure pages, and a page off localhost is secure only over https, so the edge must speak TLS.
 *
 * The certificate is made like mkcert makes one: a local certificate authority (made once, kept) signs a
 * server certificate for this machine's addresses (made again when the address changes or it nears its
 * end). Trust the authority once (`ca.pem`) on every device that joins, and the warning is gone for good;
 * without that, each browser warns once and, after "accept the risk" / "proceed", works as well.
 * Firefox refuses a self-signed authority used directly as a server certificate
 * (MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY), hence two certificates.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The address this machine uses towards the internet, i.e. its address on the LAN: the source address
 * of a UDP socket "connected" to a documentation address. Connecting a UDP socket sends nothing.
 */
export function lanAddress(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', (err) => {
      s.close();
      reject(new Error(`no LAN address (no default route?): ${err.message}; set TREFFPUNKT_LAN_ADDRESS`));
    });
    s.connect(9, '192.0.2.1', () => {
      const { address } = s.address();
      s.close();
      resolve(address);
    });
  });
}

export interface LocalTls {
  dir: string;
  /** The local authority to trust on every device that joins. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint of the authority, to compare on another device. */
  caFingerprint: string;
}

const DAY_MS = 86_400_000;

/** The local authority and a server certificate valid for `address`, 127.0.0.1 and localhost. */
export function localTls(address: string, dir = defaultDir()): LocalTls {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  if (!existsSync(f('ca.pem')) || !existsSync(f('ca-key.pem'))) {
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('ca-key.pem'),
      '-out',
      f('ca.pem'),
      '-days',
      '3650',
      '-subj',
      `/O=Treffpunkt/CN=Treffpunkt local authority (${hostname()})`,
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    rmSync(f('cert.pem'), { force: true });
  }
  if (!serverCertFits(f('cert.pem'), address)) {
    const ext = f('server.ext');
    writeFileSync(
      ext,
      [
        `subjectAltName=IP:${address},IP:127.0.0.1,DNS:localhost,DNS:${hostname()},DNS:${hostname()}.local`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
      ].join('\n'),
    );
    openssl('req', ...ec, '-keyout', f('key.pem'), '-out', f('server.csr'), '-subj', `/O=Treffpunkt/CN=${address}`);
    // 397 days: the longest server certificate lifetime Apple's and Chrome's platforms accept.
    openssl(
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '397',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      f('cert.pem'),
    );
    rmSync(f('server.csr'), { force: true });
    rmSync(ext, { force: true });
  }
  for (const key of ['ca-key.pem', 'key.pem']) chmodSync(f(key), 0o600);
  return {
    dir,
    caFile: f('ca.pem'),
    certFile: f('cert.pem'),
    keyFile: f('key.pem'),
    caFingerprint: new X509Certificate(readFileSync(f('ca.pem'))).fingerprint256,
  };
}

function serverCertFits(file: string, address: string): boolean {
  if (!existsSync(file)) return false;
  const cert = new X509Certificate(readFileSync(file));
  const sans = (cert.subjectAltName ?? '').split(', ');
  return sans.includes(`IP Address:${address}`) && new Date(cert.validTo).getTime() > Date.now() + 30 * DAY_MS;
}

function defaultDir(): string {
  return process.env.TREFFPUNKT_LAN_TLS_DIR ?? join(homedir(), '.cache', 'treffpunkt', 'local-tls');
}
