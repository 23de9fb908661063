/**
 * A bad network for a test, made of kernel parts (this kernel has no netem): a network namespace joined
 * to the host by a veth pair, random loss by nftables inside the namespace (`numgen random`), a rate cap
 * by a `tc tbf` qdisc on the host's end of the pair (what the namespace receives). A browser started
 * through `chromiumPath` lives in the namespace; the stack stays on the host and serves it at `hostIp`.
 * Needs root. Names and addresses carry the test's pid; `close()` (also run at exit) deletes everything.
 *
 * @example const net = await createNetns(); … await net.setLoss(10); … await net.close();
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from './browser.ts';

export interface Netns {
  name: string;
  /** The host's end of the pair: where a stack listens for the namespace. */
  hostIp: string;
  /** The namespace's end. */
  nsIp: string;
  /** An executable that starts Chromium inside the namespace (for launchChromium's executablePath). */
  chromiumPath: string;
  /** Drops this percentage (0-100) of the UDP packets entering the namespace (media towards its pages). */
  setLoss(percent: number): void;
  /**
   * Caps what the namespace receives to `kbit` kbit/s (null: no cap), with a queue of `queueMs` (a home
   * router's deep buffer shows the cap as delay first; a shallow one drops at once).
   */
  setRateCap(kbit: number | null, queueMs?: number): void;
  /** The same for what the namespace sends (its pages' uplink). */
  setUplinkCap(kbit: number | null, queueMs?: number): void;
  close(): void;
}

const run = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], ...(input === undefined ? {} : { input }) });

/** A tbf qdisc as the root of `dev` (in the namespace with `where` = ['-n', name]), or none. */
function tbf(where: string[], dev: string, kbit: number | null, queueMs: number): void {
  if (kbit === null) {
    try {
      run('tc', [...where, 'qdisc', 'del', 'dev', dev, 'root']);
    } catch {
      // no cap set
    }
    return;
  }
  const cap = ['tbf', 'rate', `${kbit}kbit`, 'burst', '16kb', 'latency', `${queueMs}ms`];
  run('tc', [...where, 'qdisc', 'replace', 'dev', dev, 'root', ...cap]);
}

export function createNetns(): Netns {
  const id = process.pid;
  const name = `tploss${id}`;
  const [hostIf, nsIf] = [`tpl${id}h`, `tpl${id}n`];
  // A /30 of 10.0.0.0/8 picked by the pid, so parallel tests on this machine do not meet.
  const prefix = `10.${200 + ((id >> 14) % 50)}.${(id >> 6) % 256}`;
  const hostIp = `${prefix}.${(id % 64) * 4 + 1}`;
  const nsIp = `${prefix}.${(id % 64) * 4 + 2}`;
  const chromiumPath = join(tmpdir(), `treffpunkt-chromium-${name}`);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.off('exit', close);
    // Deleting the namespace deletes its end of the pair, and with it the host's end and the qdisc.
    for (const [cmd, args] of [
      ['ip', ['netns', 'del', name]],
      ['ip', ['link', 'del', hostIf]],
    ] as const)
      try {
        run(cmd, [...args]);
      } catch {
        // already gone
      }
    rmSync(chromiumPath, { force: true });
  };
  process.on('exit', close);
  try {
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name]);
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    run('ip', ['link', 'set', hostIf, 'up']);
    run('ip', ['-n', name, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    run('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // Playwright talks to Chromium over inherited pipes, which `ip netns exec` keeps.
    writeFileSync(chromiumPath, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM} "$@"\n`);
    chmodSync(chromiumPath, 0o755);
  } catch (err) {
    close();
    throw err;
  }
  return {
    name,
    hostIp,
    nsIp,
    chromiumPath,
    setLoss(percent) {
      // Only UDP from the host: media and RTCP; signaling (TCP) stays clean, as on a real lossy line it would
      // be repaired by TCP anyway.
      const rule =
        percent > 0 ? `ip saddr ${hostIp} meta l4proto udp numgen random mod 100 < ${Math.round(percent)} drop` : '';
      run(
        'ip',
        ['netns', 'exec', name, 'nft', '-f', '-'],
        `table inet tploss\ndelete table inet tploss\ntable inet tploss {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ${rule}\n }\n}\n`,
      );
    },
    setRateCap(kbit, queueMs = 200) {
      tbf([], hostIf, kbit, queueMs);
    },
    setUplinkCap(kbit, queueMs = 200) {
      tbf(['-n', name], nsIf, kbit, queueMs);
    },
    close,
  };
}
