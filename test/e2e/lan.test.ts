/**
 * The README's promise, "open the same room link on a second machine" (issue 15): `npm start -- --lan`
 * (scripts/start.ts, exactly as the README says, minus the setup step) in a network namespace of the
 * test's own, whose default route points to a non-loopback address as on a real LAN. It must find that
 * address by itself, serve https with a certificate from its local authority that is valid for it, and
 * two Chromium pages that open https://<address>:8080/<room> — as on other machines — must meet.
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
import { waitFor } from '../support/poll.ts';

const address = namespaceAddress();
const root = fileURLToPath(new URL('../..', import.meta.url));

if (!address) {
  test('npm start -- --lan in a network namespace (the test is reported above)', async () => {
    const run = await runFileInNamespace(fileURLToPath(import.meta.url), { tag: 'lan', timeoutMs: 150_000 });
    assert.equal(run.code, 0, `the LAN test inside the namespace failed:\n${run.output.slice(-4000)}`);
    assert.match(run.output, /ℹ pass 1\b/);
  });
} else {
  test('two pages meet through the all-in-one on the LAN address, over https', async (t) => {
    const tlsDir = await mkdtemp(join(tmpdir(), 'treffpunkt-lan-tls-'));
    const out: string[] = [];
    const start = spawn(process.execPath, ['scripts/start.ts', '--lan'], {
      cwd: root,
      env: { ...process.env, TREFFPUNKT_LAN_TLS_DIR: tlsDir, TREFFPUNKT_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start.stdout.on('data', (d) => out.push(String(d)));
    start.stderr.on('data', (d) => out.push(String(d)));
    try {
      const url = await waitFor(
        'the all-in-one to say where to go',
        async () => {
          if (start.exitCode !== null) throw new Error(`npm start exited:\n${out.join('')}`);
          return /open (https:\/\/\S+?)\/ on this or any other machine/.exec(out.join(''))?.[1];
        },
        60_000,
        200,
      );
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
        t.diagnostic(out.join('').trim().split('\n').slice(-12).join('\n'));
      } finally {
        await pinned.close();
      }
    } finally {
      start.kill('SIGTERM');
      await new Promise((r) => (start.exitCode !== null ? r(undefined) : start.once('exit', r)));
      await rm(tlsDir, { recursive: true, force: true });
    }
  });
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
