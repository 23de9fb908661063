/**
 * The README's promise, "open the same room link on a second machine" (issue 15): `npm start -- --lan`
 * (scripts/start.ts, exactly as the README says, minus the setup step) in a network namespace of the
 * test's own, whose default route points to a non-loopback address as on a real LAN. It must find that
 * address by itself, serve https with a certificate from its local authority that is valid for it, and
 * two Chromium pages that open https://<address>:8080/<room> — as on other machines — must meet.
 *
 * And plain `npm start` (no --lan), as a Firefox user on that machine meets it: the edge on 127.0.0.1, the
 * media node on the machine's network address, because Firefox ignores loopback candidates and got no
 * media at all from an SFU on 127.0.0.1 (issue 15). A Firefox page and a Chromium page at
 * http://127.0.0.1:8080 must see each other.
 *
 * Chromium trusts exactly the server certificate's key (--ignore-certificate-errors-spki-list, the
 * pinning flag made for tests), not "any certificate"; the certificate's chain and names are checked
 * against the local authority by Node's TLS separately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { namespaceAddress, runFileInNamespace } from '../support/netns.ts';
import { candidatePairs, framesFrom, joinMeeting, launchChromium, participantId } from '../support/browser.ts';
import { launchFirefox } from '../support/firefox.ts';
import { waitFor } from '../support/poll.ts';

const address = namespaceAddress();
const root = fileURLToPath(new URL('../..', import.meta.url));

if (!address) {
  test('npm start -- --lan in a network namespace (the test is reported above)', async () => {
    const run = await runFileInNamespace(fileURLToPath(import.meta.url), { tag: 'lan', timeoutMs: 150_000 });
    assert.equal(run.code, 0, `the LAN test inside the namespace failed:\n${run.output.slice(-4000)}`);
    assert.match(run.output, /ℹ pass 2\b/);
  });
} else {
  test('plain npm start: a Firefox page and a Chromium page on this machine meet', async () => {
    const start = startAllInOne([], {});
    const firefox = await launchFirefox();
    const chromium = await launchChromium();
    try {
      const url = await start.url(/open (http:\/\/\S+?)\/ in your browser/);
      assert.equal(url, 'http://localhost:8080');
      const room = `plain-${Date.now()}`;
      const [f, a] = [await firefox.newPage(), await chromium.newPage()];
      await joinMeeting(f, url, room, 'Fritz');
      await joinMeeting(a, url, room, 'Ada');
      const [fid, aid] = [await participantId(f), await participantId(a)];
      await waitFor('Firefox to decode Chromium', async () => (await framesFrom(f, aid)) > 20, 60_000, 250);
      await waitFor('Chromium to decode Firefox', async () => (await framesFrom(a, fid)) > 20, 60_000, 250);
      for (const p of await candidatePairs(f)) assert.equal(p.localType, 'host', `a direct path: ${JSON.stringify(p)}`);
    } finally {
      await firefox.close();
      await chromium.close();
      await start.stop();
    }
  });

  test('two pages meet through the all-in-one on the LAN address, over https', async (t) => {
    const tlsDir = await mkdtemp(join(tmpdir(), 'treffpunkt-lan-tls-'));
    const start = startAllInOne(['--lan'], { TREFFPUNKT_LAN_TLS_DIR: tlsDir });
    try {
      const url = await start.url(/open (https:\/\/\S+?)\/ on this or any other machine/);
      assert.equal(url, `https://${address}:8080`, 'the LAN address, found by itself');
      const ca = await readFile(join(tlsDir, 'ca.pem'));
      assert.equal(JSON.parse(await httpsGet(`${url}/healthz`, ca)).mediaNodes, 1, 'valid for the address');

      // Chromium trusts the server certificate's key, as a device that imported the authority would.
      const cert = new X509Certificate(await readFile(join(tlsDir, 'cert.pem')));
      const spki = createHash('sha256')
        .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64');
      const pinned = await launchChromium({ args: [`--ignore-certificate-errors-spki-list=${spki}`] });
      try {
        const room = `lan-${Date.now()}`;
        const [a, b] = [await pinned.newPage(), await pinned.newPage()];
        await joinMeeting(a, url, room, 'Ada');
        await joinMeeting(b, url, room, 'Ben');
        assert.equal(await a.evaluate(() => window.isSecureContext), true, 'a secure context: cameras allowed');
        const [aid, bid] = [await participantId(a), await participantId(b)];
        await waitFor('Ben to decode Ada', async () => (await framesFrom(b, aid)) > 20, 60_000, 250);
        await waitFor('Ada to decode Ben', async () => (await framesFrom(a, bid)) > 20, 60_000, 250);
        for (const p of await candidatePairs(a)) assert.equal(p.localType, 'host', JSON.stringify(p));
        t.diagnostic(start.output().trim().split('\n').slice(-12).join('\n'));
      } finally {
        await pinned.close();
      }
    } finally {
      await start.stop();
      await rm(tlsDir, { recursive: true, force: true });
    }
  });
}

/** scripts/start.ts as `npm start -- <args>` runs it (after the setup step), inside the namespace. */
function startAllInOne(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const child = spawn(process.execPath, ['scripts/start.ts', ...args], {
    cwd: root,
    // No drain wait on stop: the next test starts the all-in-one again on the same ports.
    env: { ...process.env, TREFFPUNKT_LOG_LEVEL: 'warn', TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => out.push(String(d)));
  child.stderr.on('data', (d) => out.push(String(d)));
  return {
    output: () => out.join(''),
    /** The URL it tells the person to open, once it does. */
    url: (pattern: RegExp) =>
      waitFor(
        'the all-in-one to say where to go',
        async () => {
          if (child.exitCode !== null) throw new Error(`npm start exited:\n${out.join('')}`);
          return pattern.exec(out.join(''))?.[1];
        },
        60_000,
        200,
      ),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** GET over https, trusting only `ca` (Node checks the chain and that the certificate names the host). */
function httpsGet(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
