/**
 * coturn as the media node's TURN service: the node writes its configuration (REST credentials with the
 * node's TURN secret, the same denied peer ranges as the embedded server, caps, ports) into a private
 * directory, starts `turnserver` as a child process, waits until it answers a STUN Binding request, and
 * stops it with the node.
 *
 * Credential expiry: coturn 4.6 checks the expiry in a REST username only when a session first
 * authenticates; afterwards it keeps the HMAC key and accepts Refresh, CreatePermission and ChannelBind
 * with that username forever, even after 438 Stale Nonce and a new nonce (measured; ns_turn_server.c
 * check_stun_auth skips the key lookup once hmackey_set). So the node ends such sessions itself: coturn's
 * CLI listens on loopback with a random password, and every expirySweepSeconds the node lists the
 * sessions (`ps`) and cancels (`cs`) each whose credential has expired. Further requests of that client get
 * 437 Allocation Mismatch and nothing more is relayed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { selfSignedPair, type CertificatePair } from './self-signed.ts';
import { parseRestUsername } from './rest-credentials.ts';
import { turnSecurityEvents, type TurnRefusal, type TurnSecurityEvents } from './turn-events.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coturnDeniedPeerRanges } from './peer-policy.ts';
import { MAGIC_COOKIE, METHOD, CLASS, messageType } from './stun-packet.ts';
import type { TurnLogger } from './embedded-turn.ts';

export interface CoturnOptions {
  bin: string;
  listenIp: string;
  port: number;
  relayIp: string;
  externalIp?: string;
  minPort: number;
  maxPort: number;
  secret: string;
  realm: string;
  allowLoopback: boolean;
  userQuota: number;
  totalQuota: number;
  /** max-allocate-lifetime: longest lifetime one Allocate or Refresh grants (s). */
  maxLifetimeSeconds: number;
  /** stale-nonce (s). */
  nonceLifetimeSeconds: number;
  /** How often sessions whose credential expired are ended (s). */
  expirySweepSeconds: number;
  /** TURN over TLS (turns:); without cert/key files a self-signed pair for `host` is made per start. */
  tls?: { port: number; host: string; certFile?: string; keyFile?: string };
  /** Loopback port of coturn's CLI (the expiry sweep's only use of it); 0 picks a free one. */
  cliPort?: number;
  log?: TurnLogger;
  /** Called when coturn exits without being asked to. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** The turnserver.conf for these options (the secrets included: the file is written with mode 600). */
export function coturnConfig(
  o: CoturnOptions,
  dir: string,
  cli: { port: number; password: string },
  tls?: CertificatePair & { port: number },
): string {
  const lines = [
    '# Written by the Treffpunkt media node; it is regenerated at every start.',
    `listening-ip=${o.listenIp}`,
    `listening-port=${o.port}`,
    `relay-ip=${o.relayIp}`,
    ...(o.externalIp ? [`external-ip=${o.externalIp}/${o.relayIp}`] : []),
    `min-port=${o.minPort}`,
    `max-port=${o.maxPort}`,
    // TURN REST API credentials: username <expiry>:<participant>, password base64(HMAC-SHA1(secret, username)).
    'use-auth-secret',
    `static-auth-secret=${o.secret}`,
    `realm=${o.realm}`,
    'fingerprint',
    // user-quota counts per username without the expiry (coturn's get_real_username): per identity.
    `user-quota=${o.userQuota}`,
    `total-quota=${o.totalQuota}`,
    // A nonce lives this long, then the client must take a new one (438): limits replay of a captured
    // request. It does not make coturn 4.6 look at the credential's expiry again (see the sweep above).
    `stale-nonce=${o.nonceLifetimeSeconds}`,
    // An allocation whose client stopped refreshing (a closed tab, an ended session) is gone after this.
    `max-allocate-lifetime=${o.maxLifetimeSeconds}`,
    // Only UDP relays (what browsers use), whatever the client's transport to coturn; no DTLS listener
    // (browsers do not speak TURN over DTLS), no RFC 5780 NAT discovery (an amplification vector), no
    // software version in responses.
    'no-tcp-relay',
    'no-dtls',
    // TURN over TLS (issue 16): for networks that let nothing out but TCP 443. coturn also accepts TLS on
    // listening-port; browsers are given only the turns: URL with tls-listening-port. TLS 1.2 and later.
    ...(tls
      ? [`tls-listening-port=${tls.port}`, `cert=${tls.certFile}`, `pkey=${tls.keyFile}`, 'no-tlsv1', 'no-tlsv1_1']
      : ['no-tls']),
    // The CLI is for the expiry sweep only: loopback, a random password per start, every session listed.
    'cli-ip=127.0.0.1',
    `cli-port=${cli.port}`,
    `cli-password=${cli.password}`,
    `cli-max-output-sessions=${o.totalQuota + 16}`,
    'no-rfc5780',
    'no-stun-backward-compatibility',
    'no-software-attribute',
    'no-multicast-peers',
    ...(o.allowLoopback ? ['allow-loopback-peers'] : []),
    ...coturnDeniedPeerRanges().map((r) => `denied-peer-ip=${r}`),
    `pidfile=${join(dir, 'turnserver.pid')}`,
    `userdb=${join(dir, 'turndb')}`,
    'log-file=stdout',
    'simple-log',
    // One line per request (not per relayed packet): the node turns refusals into security events
    // (coturnSecurityEvent); everything else goes to the node's log at debug level.
    'verbose',
    'new-log-timestamp',
  ];
  return `${lines.join('\n')}\n`;
}

export class Coturn {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #stopping = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;

  private constructor(child: ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(o: CoturnOptions): Promise<Coturn> {
    const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-coturn-'));
    const conf = join(dir, 'turnserver.conf');
    const cli = { port: o.cliPort || (await freeLoopbackPort()), password: randomBytes(18).toString('base64url') };
    let tls: (CertificatePair & { port: number }) | undefined;
    try {
      if (o.tls) {
        const { port, host, certFile, keyFile } = o.tls;
        tls = { port, ...(certFile && keyFile ? { certFile, keyFile } : await selfSignedPair(dir, host)) };
        if (!certFile)
          o.log?.warn({ host }, 'TURN/TLS uses a self-signed certificate: browsers refuse it (local only)');
      }
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    writeFileSync(conf, coturnConfig(o, dir, cli, tls), { mode: 0o600 });
    const child = spawn(o.bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const coturn = new Coturn(child, dir);
    const tail: string[] = [];
    const events = turnSecurityEvents(o.log);
    const onOutput = (d: Buffer) => {
      for (const line of String(d).split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        o.log?.debug({ coturn: line.trim() }, 'coturn');
        const refusal = coturnRefusal(line);
        if (refusal) events.refused(refusal.identity, refusal.reason, refusal.method);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new Error(`cannot start ${o.bin}: ${err.message} (install the Debian package coturn)`)),
      );
      child.once('exit', (code, signal) =>
        reject(new Error(`${o.bin} exited (${signal ?? code}) while starting:\n${tail.join('\n')}`)),
      );
    });
    try {
      await Promise.race([exited, waitForStun(o.listenIp, o.port, 10_000)]);
      if (tls) await Promise.race([exited, waitForTls(o.listenIp, tls.port, 5_000)]);
    } catch (err) {
      await coturn.stop();
      throw err;
    }
    exited.catch(() => {});
    child.once('exit', (code, signal) => {
      if (!coturn.#stopping) {
        o.log?.warn({ code, signal }, 'coturn exited');
        o.onExit?.(code, signal);
      }
    });
    o.log?.info(
      {
        pid: child.pid,
        address: o.listenIp,
        port: o.port,
        ...(tls ? { tlsPort: tls.port } : {}),
        relay: `${o.relayIp}:${o.minPort}-${o.maxPort}`,
      },
      tls ? 'coturn listening (UDP, TCP and TLS)' : 'coturn listening (UDP and TCP)',
    );
    const sweep = () => {
      coturn.#sweeping = sweepExpiredSessions(cli, events, o.log)
        .catch((err: Error) => o.log?.warn({ err: err.message }, 'coturn expiry sweep failed'))
        .finally(() => {
          coturn.#sweeping = undefined;
          if (!coturn.#stopping) coturn.#sweepTimer = setTimeout(sweep, o.expirySweepSeconds * 1000).unref();
        });
    };
    coturn.#sweepTimer = setTimeout(sweep, o.expirySweepSeconds * 1000).unref();
    return coturn;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#sweepTimer);
    await this.#sweeping;
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Resolves once a STUN Binding request to host:port is answered; rejects after timeoutMs. */
export function waitForStun(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(messageType(METHOD.BINDING, CLASS.REQUEST), 0);
    request.writeUInt32BE(MAGIC_COOKIE, 4);
    randomBytes(12).copy(request, 8);
    const finish = (err?: Error) => {
      clearInterval(every);
      clearTimeout(deadline);
      socket.close();
      if (err) reject(err);
      else resolve();
    };
    socket.on('error', () => {}); // ICMP port unreachable until the server listens
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.subarray(8, 20).equals(request.subarray(8, 20))) finish();
    });
    const send = () => socket.send(request, port, host, () => {});
    const every = setInterval(send, 100);
    const deadline = setTimeout(
      () => finish(new Error(`no STUN answer from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    send();
  });
}

/**
 * Resolves once a TLS handshake with host:port succeeds (coturn loaded the certificate and bound the port;
 * the certificate itself is not checked here, the browser does that). coturn logs a failed bind and goes
 * on without the listener, so without this check a port below 1024 without the capability would only show
 * as browsers that never get a relay.
 */
export function waitForTls(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const attempt = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = tlsConnect({ host, port, rejectUnauthorized: false });
      socket.setTimeout(2_000, () => socket.destroy(new Error('TLS handshake timed out')));
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  const loop = async (): Promise<void> => {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(
            `coturn's TLS listener on ${host}:${port} did not answer (${(err as Error).message}); a port below 1024 needs root or CAP_NET_BIND_SERVICE for turnserver (docs/turn.md), or set TREFFPUNKT_TURN_TLS_PORT`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  return loop();
}

/** A free TCP port on 127.0.0.1 for coturn's CLI (taken by coturn a moment later). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** One coturn session as its CLI's `ps` lists it. */
export interface CoturnSession {
  id: string;
  username: string;
}

/** The sessions in the output of coturn's `ps` (`    1) id=000000000000000002, user <1796132537:alice>:`). */
export function parseCoturnSessions(text: string): CoturnSession[] {
  return [...text.matchAll(/^\s*\d+\) id=(\d{1,20}), user <([^>\r\n]*)>:/gm)].map((m) => ({
    id: m[1]!,
    username: m[2]!,
  }));
}

/**
 * One sweep: log in to the CLI, list the sessions, cancel those whose credential has expired. Bounded by a
 * timeout; the CLI's telnet option bytes are ignored (only the text is read).
 */
export async function sweepExpiredSessions(
  cli: { port: number; password: string },
  events: TurnSecurityEvents,
  log: TurnLogger | undefined,
  now: () => number = Date.now,
): Promise<number> {
  const socket = connect(cli.port, '127.0.0.1');
  socket.setTimeout(5_000);
  let text = '';
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    wake?.();
  });
  const closed = new Promise<never>((_, reject) => {
    socket.once('error', reject);
    socket.once('timeout', () => reject(new Error('coturn CLI did not answer within 5 s')));
    socket.once('close', () => reject(new Error('coturn CLI closed the connection')));
  });
  closed.catch(() => {});
  /** Waits until the text read since `from` contains `what`. */
  const until = async (what: RegExp, from: number): Promise<string> => {
    for (;;) {
      const part = text.slice(from);
      if (what.test(part)) return part;
      await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    }
  };
  try {
    await until(/Enter password: ?$/m, 0);
    let at = text.length;
    socket.write(`${cli.password}\r\n`);
    await until(/> $/, at);
    at = text.length;
    socket.write('ps\r\n');
    const listing = await until(/Total sessions: \d+[\s\S]*> $/, at);
    let ended = 0;
    for (const s of parseCoturnSessions(listing)) {
      const parsed = parseRestUsername(s.username);
      if (!parsed || parsed.expiresAt * 1000 > now()) continue;
      at = text.length;
      socket.write(`cs ${s.id}\r\n`);
      await until(/> $/, at);
      ended++;
      events.allocationEnded(parsed.user, 'credential expired');
    }
    if (ended) log?.debug({ ended }, 'coturn expiry sweep');
    return ended;
  } finally {
    socket.removeAllListeners('close');
    socket.destroy();
  }
}

const COTURN_METHODS: Record<string, string> = {
  ALLOCATE: 'Allocate',
  REFRESH: 'Refresh',
  CREATE_PERMISSION: 'CreatePermission',
  CHANNEL_BIND: 'ChannelBind',
};

/**
 * A refusal in coturn's (verbose) log that is a security event: a credential that has expired (coturn
 * finds no key for a REST username whose time has passed; a forged HMAC is logged differently) or a quota.
 * Only the identity part of the username is kept.
 */
export function coturnRefusal(
  line: string,
  now: () => number = Date.now,
): { identity: string; reason: TurnRefusal; method: string } | undefined {
  const expired = /check_stun_auth: Cannot find credentials of user <([^>\r\n]*)>/.exec(line);
  if (expired) {
    const parsed = parseRestUsername(expired[1]!);
    return parsed && parsed.expiresAt * 1000 <= now()
      ? { identity: parsed.user, reason: 'credential expired', method: 'request' }
      : undefined;
  }
  const quota = /user <([^>\r\n]*)>: incoming packet (\w+) processed, error (486|508)\b/.exec(line);
  if (quota) {
    const parsed = parseRestUsername(quota[1]!);
    if (!parsed) return undefined;
    return {
      identity: parsed.user,
      reason: quota[3] === '486' ? 'user quota' : 'total quota',
      method: COTURN_METHODS[quota[2]!] ?? quota[2]!,
    };
  }
  return undefined;
}
