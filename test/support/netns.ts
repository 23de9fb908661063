/**
 * A network namespace of the test's own, so that browsers and the stack see a network as on a real
 * machine: loopback plus one non-loopback address on a veth pair whose both ends stay inside the namespace
 * (10.x.y.z/24; this kernel has no dummy interface type). Firefox ignores loopback host candidates, so a loopback-only setup proves nothing for it (issue 15).
 * Nothing inside can reach the host's network or the internet: the namespace has no route out.
 *
 * A test file runs itself inside (`runFileInNamespace`): the outer process creates the namespace, starts
 * `node --test <file>` in it with `ip netns exec`, relays its output, and deletes the namespace and every
 * process left in it afterwards, also on failure. Inside, `namespaceAddress()` says where the test is.
 * Needs root (ip netns); self-contained, no other test support is used.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ENV_NAME = 'TREFFPUNKT_NETNS';
const ENV_ADDRESS = 'TREFFPUNKT_NETNS_ADDRESS';
const PREFIX = 'tpns-';

/** Inside a namespace made by runFileInNamespace: its non-loopback address; outside: undefined. */
export function namespaceAddress(): string | undefined {
  return process.env[ENV_ADDRESS] || undefined;
}

export interface NetNamespace {
  name: string;
  /** The namespace's non-loopback address (on `lan0`, one end of a veth pair inside the namespace). */
  address: string;
  /** Ends every process still in the namespace (all started by this test) and deletes it. */
  remove(): Promise<void>;
}

/** A fresh namespace `tpns-<tag>-<pid>` with lo up and `lan0` (veth to `lan1`) holding 10.<a>.<b>.2/24. */
export async function createNamespace(tag: string): Promise<NetNamespace> {
  await removeStale();
  const name = `${PREFIX}${tag}-${process.pid}`;
  const address = `10.${100 + (process.pid % 100)}.${(process.pid >> 7) % 250}.2`;
  const ns = (...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
  await run('ip', ['netns', 'add', name]);
  const remove = () => removeNamespace(name);
  try {
    await ns('ip', 'link', 'set', 'lo', 'up');
    await ns('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
    await ns('ip', 'addr', 'add', `${address}/24`, 'dev', 'lan0');
    await ns('ip', 'link', 'set', 'lan0', 'up');
    await ns('ip', 'link', 'set', 'lan1', 'up');
    // A default route, as every real machine has: without one Firefox gathers no host candidate at all
    // (it finds its interfaces by routing towards the internet). The gateway does not exist, so
    // nothing leaves: packets off the /24 wait for an ARP answer that never comes and are dropped.
    await ns('ip', 'route', 'add', 'default', 'via', gateway(address), 'dev', 'lan0');
  } catch (err) {
    await remove();
    throw err;
  }
  return { name, address, remove };
}

const gateway = (address: string) => address.replace(/\.\d+$/, '.1');

async function removeNamespace(name: string): Promise<void> {
  // Processes keep a namespace alive after `ip netns delete`; end ours by their ids first.
  const { stdout } = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run('ip', ['netns', 'delete', name]).catch(() => undefined);
}

/** Namespaces of ours whose test process is gone (killed before its teardown ran). */
async function removeStale(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = Number(/^tpns-.+-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    await removeNamespace(name);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface NamespaceRun {
  code: number | null;
  output: string;
}

/**
 * Runs `node --test <file>` inside a fresh namespace and resolves with its exit code and output (also
 * written to stderr as it comes, so a long run shows progress). `timeoutMs` bounds each test and the run.
 */
export function runFileInNamespace(
  file: string,
  opts: { tag: string; timeoutMs: number; env?: Record<string, string> },
): Promise<NamespaceRun> {
  const args = ['--test', '--test-force-exit', '--test-reporter=spec', `--test-timeout=${opts.timeoutMs}`, file];
  return runNodeInNamespace(args, opts);
}

/** Runs `node <args>` (the project's Node) inside a fresh namespace; see runFileInNamespace. */
export async function runNodeInNamespace(
  args: string[],
  opts: { tag: string; timeoutMs: number; env?: Record<string, string> },
): Promise<NamespaceRun> {
  const ns = await createNamespace(opts.tag);
  const out: string[] = [];
  try {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...args], {
      // Without NODE_TEST_CONTEXT: the inner runner would take itself for a nested run and skip the file.
      env: { ...withoutTestContext(process.env), ...opts.env, [ENV_NAME]: ns.name, [ENV_ADDRESS]: ns.address },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sink = (d: Buffer) => {
      out.push(String(d));
      process.stderr.write(d);
    };
    child.stdout.on('data', sink);
    child.stderr.on('data', sink);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs + 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output: out.join('') };
  } finally {
    await ns.remove();
  }
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}
