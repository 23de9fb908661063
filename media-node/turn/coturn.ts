/**
 * coturn as the media node's TURN service: the node writes its configuration (REST credentials with the
 * node's TURN secret, the same denied peer ranges as the embedded server, caps, ports) into a private
 * directory, starts `turnserver` as a child process, waits until it answers a STUN Binding request, and
 * stops it with the node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
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
  log?: TurnLogger;
  /** Called when coturn exits without being asked to. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** The turnserver.conf for these options (the secret included: the file is written with mode 600). */
export function coturnConfig(o: CoturnOptions, dir: string): string {
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
    `user-quota=${o.userQuota}`,
    `total-quota=${o.totalQuota}`,
    // Only UDP relays (what browsers use); no TLS/DTLS listeners of its own, no telnet CLI, no RFC 5780
    // NAT discovery (an amplification vector), no software version in responses.
    'no-tcp-relay',
    'no-tls',
    'no-dtls',
    'no-cli',
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
    'new-log-timestamp',
  ];
  return lines.join('\n') + '\n';
}

export class Coturn {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #stopping = false;

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
    writeFileSync(conf, coturnConfig(o, dir), { mode: 0o600 });
    const child = spawn(o.bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const coturn = new Coturn(child, dir);
    const tail: string[] = [];
    const onOutput = (d: Buffer) => {
      for (const line of String(d).split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        o.log?.debug({ coturn: line.trim() }, 'coturn');
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${o.bin}: ${err.message} (install the Debian package coturn)`)));
      child.once('exit', (code, signal) => reject(new Error(`${o.bin} exited (${signal ?? code}) while starting:\n${tail.join('\n')}`)));
    });
    try {
      await Promise.race([exited, waitForStun(o.listenIp, o.port, 10_000)]);
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
    o.log?.info({ pid: child.pid, address: o.listenIp, port: o.port, relay: `${o.relayIp}:${o.minPort}-${o.maxPort}` }, 'coturn listening (UDP and TCP)');
    return coturn;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
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
    const deadline = setTimeout(() => finish(new Error(`no STUN answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    send();
  });
}
