/**
 * coturn's own test client, turnutils_uclient (REST credentials with -W <secret>), against a turnutils_peer
 * on loopback, run in many of its modes against the embedded TURN and against coturn, both inside real
 * media node processes. Records which modes pass on which server (printed, and written to
 * test-output/turn-uclient.json); asserts that the embedded server never crashes or hangs on any of them
 * and that the everyday modes pass on both. Every run is bounded by a timeout.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TurnClient, M, C } from '../support/turn-client.ts';
import { startTurnNode, type TurnNode } from '../support/turn-node.ts';
import { freePortBlock } from '../support/stack.ts';

const has = (bin: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const available = has('turnutils_uclient') && has('turnutils_peer') && has('turnserver');

/** Modes: flags and what they exercise. `core`: must pass on both servers. */
const MODES: { flags: string; what: string; core?: boolean }[] = [
  { flags: '', what: 'RTP+RTCP pairs: EVEN-PORT with R bit, RESERVATION-TOKEN; ChannelData', core: true },
  { flags: '-c', what: 'no RTCP: EVEN-PORT R=0 or none; ChannelData', core: true },
  { flags: '-c -s', what: 'Send and Data indications instead of channels', core: true },
  { flags: '-y', what: 'client to client through two relays', core: true },
  { flags: '-y -c -s', what: 'client to client, indications' },
  { flags: '-c -X', what: 'REQUESTED-ADDRESS-FAMILY IPv4', core: true },
  { flags: '-c -g', what: 'DONT-FRAGMENT' },
  { flags: '-c -G', what: 'extra CreatePermission and ChannelBind requests', core: true },
  { flags: '-c -D', what: 'mandatory ChannelData padding', core: true },
  { flags: '-c -l 1200', what: '1200-byte messages', core: true },
  { flags: '-c -m 10', what: '10 clients at once' },
  { flags: '-c -x', what: 'IPv6 relay requested (both servers relay IPv4 only)' },
  { flags: '-c -Z', what: 'dual allocation (IPv4 and IPv6)' },
  { flags: '-c -M', what: 'mobility ticket' },
  { flags: '-c -I', what: 'no permissions set' },
  { flags: '-c -a 100000', what: 'BANDWIDTH attribute' },
  { flags: '-c -o https://example.org', what: 'ORIGIN attributes' },
  { flags: '-c -B', what: 'random disconnects' },
  { flags: '-c -O', what: 'DoS mode: quick connect and exit' },
  { flags: '-c -N', what: 'negative tests (bad channel numbers)' },
  { flags: '-c -R', what: 'negative protocol tests' },
  { flags: '-t -c', what: 'TURN over TCP (the embedded server is UDP only)' },
];
const RUN_TIMEOUT_MS = 15_000;

interface Outcome {
  pass: boolean;
  summary: string;
  ms: number;
}

/** Each run uses its own participant name: allocations that uclient leaves behind count against the user quota. */
function runUclient(flags: string, user: string, secret: string, port: number, peerPort: number): Promise<Outcome> {
  const own = flags.split(' ').filter(Boolean);
  const args = [
    ...own,
    ...(own.includes('-m') ? [] : ['-m', '2']),
    '-n',
    '10',
    '-W',
    secret,
    '-u',
    user,
    '-e',
    '127.0.0.1',
    '-r',
    String(peerPort),
    '-p',
    String(port),
    '127.0.0.1',
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(out);
      const recv = /tot_recv_msgs=(\d+)/g;
      let received = 0;
      for (let m = recv.exec(out); m; m = recv.exec(out)) received = Number(m[1]);
      const error = /error (\d+) \(([^)]*)\)/.exec(out)?.slice(1, 3).join(' ');
      if (signal)
        return resolve({
          pass: false,
          summary: `client did not finish within ${RUN_TIMEOUT_MS / 1000} s${error ? ` (last error ${error})` : ''}`,
          ms,
        });
      if (code !== 0)
        return resolve({ pass: false, summary: `client exited ${code}${error ? `: error ${error}` : ''}`, ms });
      if (!lost)
        return resolve({
          pass: flags.includes('-O'),
          summary: flags.includes('-O') ? 'connected and exited' : 'no traffic summary',
          ms,
        });
      const pass = Number(lost[1]) === 0 && received > 0;
      resolve({
        pass,
        summary: `${received} received, ${lost[1]} lost (${Number(lost[2]).toFixed(0)}%)${error ? `, error ${error}` : ''}`,
        ms,
      });
    });
  });
}

/**
 * uclient picks its channel numbers at random, and now and then picks one it already bound to another
 * peer; the server then rightly answers 400 "You cannot use the same channel number with different
 * peer" (seen once in CI on coturn with -c -D). That is the client's dice, not the server's fault: such
 * a run is repeated (at most twice more) and the attempts are recorded. Any other failure counts at once.
 */
const CLIENT_CHANNEL_COLLISION = /same channel number with different peer/;
async function runUclientRetryingCollisions(
  ...args: Parameters<typeof runUclient>
): Promise<Outcome & { attempts: number }> {
  let outcome = await runUclient(...args);
  let attempts = 1;
  while (!outcome.pass && CLIENT_CHANNEL_COLLISION.test(outcome.summary) && attempts < 3) {
    outcome = await runUclient(...args);
    attempts++;
  }
  return {
    ...outcome,
    attempts,
    summary:
      attempts > 1
        ? `${outcome.summary} (attempt ${attempts}: uclient's random channel numbers collided before)`
        : outcome.summary,
  };
}

let embedded: TurnNode;
let coturn: TurnNode;
let peer: ChildProcess;
let peerPort: number;

before(async () => {
  if (!available) return;
  peerPort = await freePortBlock(1);
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  const env = { TREFFPUNKT_TURN_TOTAL_QUOTA: '400', TREFFPUNKT_TURN_USER_QUOTA: '40' };
  [embedded, coturn] = await Promise.all([
    startTurnNode({ mode: 'embedded', allowLoopbackPeers: true, relayPorts: 400, env }),
    startTurnNode({ mode: 'coturn', allowLoopbackPeers: true, relayPorts: 400, env }),
  ]);
});
after(async () => {
  peer?.kill('SIGKILL');
  await Promise.all([embedded?.stop(), coturn?.stop()]);
});

test('turnutils_uclient modes against the embedded TURN and coturn', {
  skip: available ? false : 'coturn not installed (scripts/setup.sh --test installs it)',
  timeout: 600_000,
}, async () => {
  const results: { flags: string; what: string; embedded: Outcome; coturn: Outcome }[] = [];
  const probe = await TurnClient.open({
    host: '127.0.0.1',
    port: embedded.turnPort,
    username: 'x',
    password: 'x',
    timeoutMs: 2_000,
  });
  try {
    for (const [i, mode] of MODES.entries()) {
      const e = await runUclientRetryingCollisions(
        mode.flags,
        `uclient-${i}`,
        embedded.turn.secret,
        embedded.turnPort,
        peerPort,
      );
      assert.ok(embedded.alive(), `the media node died on uclient ${mode.flags}:\n${embedded.output().slice(-3000)}`);
      const binding = await probe.request(M.BINDING, [], { authenticate: false });
      assert.equal(binding.cls, C.SUCCESS, `the embedded TURN still answers after uclient ${mode.flags}`);
      const c = await runUclientRetryingCollisions(
        mode.flags,
        `uclient-${i}`,
        coturn.turn.secret,
        coturn.turnPort,
        peerPort,
      );
      results.push({ flags: mode.flags, what: mode.what, embedded: e, coturn: c });
    }
  } finally {
    probe.close();
  }
  const rows = results.map(
    (r) =>
      `| \`${r.flags || '(none)'}\` | ${r.what} | ${r.embedded.pass ? 'pass' : 'FAIL'}: ${r.embedded.summary} | ${r.coturn.pass ? 'pass' : 'FAIL'}: ${r.coturn.summary} |`,
  );
  const table = ['| uclient flags | exercises | embedded | coturn |', '|---|---|---|---|', ...rows].join('\n');
  console.log(`turnutils_uclient -W <secret> -n 10 -m 2 against turnutils_peer on 127.0.0.1:\n${table}`);
  const dir = fileURLToPath(new URL('../../test-output', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/turn-uclient.json`, JSON.stringify(results, null, 2));

  for (const mode of MODES.filter((m) => m.core)) {
    const r = results.find((x) => x.flags === mode.flags)!;
    assert.ok(r.coturn.pass, `coturn passes uclient ${mode.flags || '(no flags)'}: ${r.coturn.summary}`);
    assert.ok(r.embedded.pass, `the embedded TURN passes uclient ${mode.flags || '(no flags)'}: ${r.embedded.summary}`);
  }
  assert.ok(embedded.alive(), 'the embedded TURN process is alive after every mode');
});
