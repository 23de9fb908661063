/**
 * All-in-one: the Node edge and one media node on this machine, a meeting at http://localhost:8080/.
 * `npm start` runs scripts/setup.sh first. Settings come from the environment (docs/configuration.md);
 * the node secret is random per start unless TREFFPUNKT_NODE_SECRET is set.
 *
 * `npm start -- --lan` (or TREFFPUNKT_LAN=1) puts it on the local network instead, for a second machine
 * or a phone: the edge on every address over https (a local certificate, scripts/local-network.ts), the
 * media node and TURN on the machine's LAN address (TREFFPUNKT_LAN_ADDRESS, else the address of the
 * default route). Without --lan too, the media node listens on that address (Firefox ignores loopback
 * candidates); the edge stays on 127.0.0.1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { lanAddress, localTls, type LocalTls } from './local-network.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const nodeId = process.env.TREFFPUNKT_NODE_ID ?? 'local-1';
const secret = process.env.TREFFPUNKT_NODE_SECRET ?? randomBytes(24).toString('base64url');
const lan = process.argv.includes('--lan') || process.env.TREFFPUNKT_LAN === '1';
const lanIp = lan ? (process.env.TREFFPUNKT_LAN_ADDRESS ?? (await lanAddress())) : undefined;
// Even for this machine alone the SFU listens on the machine's own network address, not 127.0.0.1:
// Firefox ignores loopback candidates, so with the SFU on loopback it gets no media at all (issue 15).
// The control API stays on loopback; the SFU and TURN ports need ICE or TURN credentials, which only the
// edge (on loopback unless --lan) hands out. No network address (offline): loopback, Chromium only.
const mediaIp =
  lanIp ?? process.env.TREFFPUNKT_NODE_LISTEN_IP ?? (await lanAddress().catch(() => undefined)) ?? '127.0.0.1';
const tls: LocalTls | undefined = lanIp ? localTls(lanIp) : undefined;
const host = process.env.TREFFPUNKT_EDGE_HOST ?? (lan ? '0.0.0.0' : '127.0.0.1');
const port = process.env.TREFFPUNKT_EDGE_PORT ?? '8080';
const scheme = tls ? 'https' : 'http';
const edgeUrl = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
// The media node reaches the edge on the same machine: over loopback when the edge listens on every address,
// since the node refuses plain http to anything but loopback (docs/security.md).
const nodeEdgeUrl = host === '0.0.0.0' || host === '::' ? `${scheme}://127.0.0.1:${port}` : edgeUrl;

/**
 * TURN: coturn when it is installed (setup installs it; docs/turn.md, "Which one in production"), else
 * the embedded server. TURN over TLS needs port 443, which only root (or a process with
 * CAP_NET_BIND_SERVICE) may bind: as another user it stays off unless TREFFPUNKT_TURN_TLS_PORT is set.
 */
function turnEnv(): Record<string, string> {
  if (process.env.TREFFPUNKT_TURN_MODE) return {};
  const bin = process.env.TREFFPUNKT_COTURN_BIN ?? 'turnserver';
  const installed = spawnSync('sh', ['-c', `command -v "$0"`, bin], { stdio: 'ignore' }).status === 0;
  if (!installed) {
    console.log('[start] TURN: embedded (UDP only); install coturn for TCP and TLS (docs/turn.md)');
    return { TREFFPUNKT_TURN_MODE: 'embedded' };
  }
  const tlsPort = process.env.TREFFPUNKT_TURN_TLS_PORT ?? (process.getuid?.() === 0 ? '443' : '0');
  console.log(
    `[start] TURN: coturn (UDP, TCP${tlsPort === '0' ? '; TLS off: port 443 needs root, or set TREFFPUNKT_TURN_TLS_PORT' : `, TLS on ${tlsPort}`})`,
  );
  return { TREFFPUNKT_TURN_MODE: 'coturn', TREFFPUNKT_TURN_TLS_PORT: tlsPort };
}

const children: ChildProcess[] = [];
const run = (script: string, env: Record<string, string>) => {
  const child = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[start] ${script} exited (${signal ?? code}); stopping`);
    stop(1);
  });
  children.push(child);
};

let stopping = false;
function stop(code: number) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('edge/node/entry.ts', {
  TREFFPUNKT_NODE_SECRETS: `${nodeId}=${secret}`,
  TREFFPUNKT_EDGE_HOST: host,
  TREFFPUNKT_EDGE_PORT: port,
  ...(tls ? { TREFFPUNKT_EDGE_TLS_CERT_FILE: tls.certFile, TREFFPUNKT_EDGE_TLS_KEY_FILE: tls.keyFile } : {}),
});
run('media-node/main.ts', {
  TREFFPUNKT_NODE_ID: nodeId,
  TREFFPUNKT_NODE_SECRET: secret,
  TREFFPUNKT_EDGE_URL: nodeEdgeUrl,
  TREFFPUNKT_NODE_LISTEN_IP: mediaIp,
  // On the LAN the node reaches the edge over https: it trusts the local authority.
  ...(tls ? { NODE_EXTRA_CA_CERTS: tls.caFile } : {}),
  ...turnEnv(),
});

/** The edge's health, over https with the local authority when on the LAN. */
function health(): Promise<{ mediaNodes: number }> {
  if (!tls) return fetch(`${nodeEdgeUrl}/healthz`).then((r) => r.json() as Promise<{ mediaNodes: number }>);
  return new Promise((resolve, reject) => {
    const req = request(`${nodeEdgeUrl}/healthz`, { ca: readFileSync(tls.caFile) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as { mediaNodes: number });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function ready(): string {
  if (!tls || !lanIp)
    return `\n  Treffpunkt is running: open ${nodeEdgeUrl.replace('127.0.0.1', 'localhost')}/ in your browser (Ctrl+C stops it)\n`;
  return [
    '',
    `  Treffpunkt is running on your local network: open https://${lanIp}:${port}/ on this or any other machine`,
    '  in the network (Ctrl+C stops it). Other machines must reach TCP ' +
      `${port}, UDP+TCP 40000 (media) and UDP 3478 (TURN) here.`,
    '',
    '  The certificate comes from a local authority made on this machine. Until a device trusts it, its browser',
    '  warns once ("Advanced" → "Accept the risk" / "Proceed"); to trust it for good, import this file as an',
    '  authority (Firefox: Settings → Certificates → Authorities; Chromium: Settings → Security → Manage',
    '  certificates → Authorities; Debian: copy it to /usr/local/share/ca-certificates/*.crt, update-ca-certificates;',
    '  iOS/Android: open it, then enable full trust) and compare the fingerprint:',
    `    ${tls.caFile}`,
    `    SHA-256 ${tls.caFingerprint}`,
    '',
  ].join('\n');
}

// Tell the person where to go once the media node is registered.
const deadline = Date.now() + 30_000;
const poll = setInterval(async () => {
  try {
    if ((await health()).mediaNodes > 0) {
      clearInterval(poll);
      console.log(ready());
    }
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    clearInterval(poll);
    console.error('[start] the media node did not register within 30 s; see the log above');
  }
}, 300);
