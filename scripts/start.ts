/**
 * All-in-one: the Node edge and one media node on this machine, a meeting at http://localhost:8080/.
 * `npm start` runs scripts/setup.sh first. Settings come from the environment (docs/configuration.md);
 * the node secret is random per start unless TREFFPUNKT_NODE_SECRET is set.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const nodeId = process.env.TREFFPUNKT_NODE_ID ?? 'local-1';
const secret = process.env.TREFFPUNKT_NODE_SECRET ?? randomBytes(24).toString('base64url');
const host = process.env.TREFFPUNKT_EDGE_HOST ?? '127.0.0.1';
const port = process.env.TREFFPUNKT_EDGE_PORT ?? '8080';
const edgeUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
// The media node reaches the edge on the same machine: over loopback when the edge listens on every address,
// since the node refuses plain http to anything but loopback (docs/security.md).
const nodeEdgeUrl = host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${port}` : edgeUrl;

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
});
run('media-node/main.ts', {
  TREFFPUNKT_NODE_ID: nodeId,
  TREFFPUNKT_NODE_SECRET: secret,
  TREFFPUNKT_EDGE_URL: nodeEdgeUrl,
  ...turnEnv(),
});

// Tell the person where to go once the media node is registered.
const deadline = Date.now() + 30_000;
const poll = setInterval(async () => {
  try {
    const health = (await (await fetch(`${nodeEdgeUrl}/healthz`)).json()) as { mediaNodes: number };
    if (health.mediaNodes > 0) {
      clearInterval(poll);
      console.log(
        `\n  Treffpunkt is running: open ${nodeEdgeUrl.replace('127.0.0.1', 'localhost')}/ in your browser (Ctrl+C stops it)\n`,
      );
    }
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    clearInterval(poll);
    console.error('[start] the media node did not register within 30 s; see the log above');
  }
}, 300);
