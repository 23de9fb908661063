/**
 * Tests in a locked-down network (issue 16): a test file runs itself again inside a fresh network
 * namespace (`unshare --net`: only a loopback interface, nothing of the host's network), where it may
 * bind port 443 and set firewall rules without touching the host. The namespace has no name and exists
 * only as long as the processes in it, so it is gone when the inner run ends — also when it fails or is
 * killed. Inside, Chromium runs as another user (`nobody`), so that nftables rules can drop the pages'
 * traffic (`meta skuid`) while the edge, the media node and coturn (root) talk to each other freely.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True in the inner run, inside the namespace. */
export const IN_NETNS = process.env.TREFFPUNKT_TEST_NETNS === '1';
/** The uid Chromium runs as inside the namespace (the rules match it). */
export const PAGE_UID = 65534;

/** Why the namespace tests cannot run here (undefined: they can). */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (unshare --net, nft, port 443)';
  for (const bin of ['unshare', 'nft', 'setpriv', 'turnserver'])
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `needs ${bin} (npm run setup installs it)`;
    }
  return undefined;
}

/**
 * Runs `file` with node --test inside a fresh network namespace; resolves with its exit code and output.
 * Killed (its whole process group) after `timeoutMs`.
 */
export function runInNetns(file: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  // Not a subtest of this run: the inner node --test must report for itself (text, its own exit code).
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return new Promise((resolve) => {
    const child = spawn(
      'unshare',
      [
        '--net',
        '--',
        process.execPath,
        '--test',
        '--test-force-exit',
        '--test-reporter=spec',
        `--test-timeout=${timeoutMs}`,
        file,
      ],
      { env: { ...env, TREFFPUNKT_TEST_NETNS: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    child.stdout!.on('data', (d) => (output += String(d)));
    child.stderr!.on('data', (d) => (output += String(d)));
    const kill = setTimeout(() => {
      output += `\n[netns] killed after ${timeoutMs} ms\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs + 30_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, output });
    });
  });
}

/** Inside the namespace: bring loopback up (an unshared namespace starts with it down). */
export function loopbackUp(): void {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
}

/**
 * Replaces this namespace's test table with `rules` for the pages' outgoing packets (nft syntax, one rule
 * a line, e.g. `tcp dport 443 accept`), each matched only for PAGE_UID; what no rule accepts is dropped
 * when `dropRest`. Root's traffic (the stack) is untouched.
 */
export function pageFirewall(rules: string[], dropRest = true): void {
  const uid = `meta skuid ${PAGE_UID}`;
  const body = [...rules.map((r) => `${uid} ${r}`), ...(dropRest ? [`${uid} counter drop`] : [])];
  const ruleset = [
    'table inet treffpunkt_test',
    'delete table inet treffpunkt_test',
    'table inet treffpunkt_test {',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    ...body.map((r) => `    ${r}`),
    '  }',
    '}',
  ].join('\n');
  execFileSync('nft', ['-f', '-'], { input: ruleset });
}

/** The packets the pages sent that the rules dropped (the drop rule's counter). */
export function droppedPagePackets(): number {
  const text = execFileSync('nft', ['list', 'table', 'inet', 'treffpunkt_test'], { encoding: 'utf8' });
  const m = /counter packets (\d+) bytes \d+ drop/.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * An executable that starts Debian's Chromium as PAGE_UID: Playwright makes the profile directory as
 * root, so it is handed to that user first. Remove the returned directory when done.
 */
export function chromiumAsPageUser(chromium = '/usr/bin/chromium'): { bin: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-chromium-'));
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  const bin = join(dir, 'chromium');
  writeFileSync(
    bin,
    [
      '#!/bin/sh',
      'for a in "$@"; do case "$a" in --user-data-dir=*) chown -R ' +
        `${PAGE_UID}:${PAGE_UID} "\${a#--user-data-dir=}";; esac; done`,
      `mkdir -p ${home} && chown ${PAGE_UID}:${PAGE_UID} ${home}`,
      `export HOME=${home}`,
      `exec setpriv --reuid=${PAGE_UID} --regid=${PAGE_UID} --clear-groups -- ${chromium} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { bin, dir };
}

/** Removes a directory made by chromiumAsPageUser (its files may belong to PAGE_UID). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
