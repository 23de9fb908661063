/**
 * The embedded TURN server: node-turn, driven from our own UDP socket and guarded.
 *
 * node-turn does the STUN message parsing, long-term authentication and the relay itself (permissions,
 * channel bindings, Data indications). Everything around it is ours, because node-turn 0.0.6 has none of it
 * or gets it wrong (see docs/turn.md for the evidence):
 * - every datagram is checked by stun-packet.ts first; node-turn only sees well-formed requests;
 * - ChannelData from the client (node-turn ignores it) is relayed by us (peer-requests.ts);
 * - allocations are made here (allocations.ts): port choice in the configured range, EVEN-PORT with
 *   RESERVATION-TOKEN (relay-ports.ts), REQUESTED-ADDRESS-FAMILY, per-user and total caps
 *   (allocation-quota.ts), expiry that closes the relay socket (node-turn only forgets the allocation and
 *   leaks the socket), and Refresh (node-turn's drops the allocation 1 ms later);
 * - every CreatePermission, ChannelBind, Send and ChannelData is checked against the peer policy
 *   (peer-requests.ts);
 * - datagrams from peers are size-checked and node-turn's handler runs inside a try/catch (a datagram of
 *   1-3 bytes from a permitted peer throws in it and, unguarded, ends the process);
 * - credentials are TURN REST ones (rest-credentials.ts), nonces are stateless (nonces.ts);
 * - a credential bounds everything done with it (credential-lifetime.ts): a request with an expired one is
 *   refused (401, checked here on every request, logged as a security event), and no allocation outlives
 *   the credential that made or last refreshed it (the granted LIFETIME stops at the credential's expiry),
 *   so a participant who is removed and gets no new credential loses its relay at the expiry at the latest.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { Allocations } from './allocations.ts';
import { DEFAULT_LIFETIME, refuseExpiredCredentials } from './credential-lifetime.ts';
import { nodeTurn, type NtAddress, type NtMessage, type NtServer } from './node-turn.ts';
import { createNonceIssuer } from './nonces.ts';
import { PeerRequests } from './peer-requests.ts';
import type { PeerPolicy } from './peer-policy.ts';
import { relayFamily } from './relay-ports.ts';
import { restCredentialsMap } from './rest-credentials.ts';
import { turnSecurityEvents } from './turn-events.ts';
import { classifyPacket, encodeErrorResponse } from './stun-packet.ts';

/** What the TURN servers log with: the shared Logger's levels up to warn (a pino child logger on the node). */
export type TurnLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface EmbeddedTurnOptions {
  listenIp: string;
  /** 0: any free port (tests). */
  port: number;
  /** Address relay sockets bind to; default listenIp (which must then be a specific address). */
  relayIp?: string;
  /** Public address written into XOR-RELAYED-ADDRESS when the relay address is behind NAT. */
  externalIp?: string;
  minPort: number;
  maxPort: number;
  secret: string;
  realm?: string;
  policy: PeerPolicy;
  /** Allocations per identity (the part after the colon in the REST username). */
  userQuota: number;
  totalQuota: number;
  /** Longest lifetime one Allocate or Refresh grants (s); default 600. Never beyond the credential's expiry. */
  maxLifetimeSeconds?: number;
  /** Nonce lifetime (s): 438 Stale Nonce after it; default 60. */
  nonceLifetimeSeconds?: number;
  log?: TurnLogger;
  now?: () => number;
}

export interface EmbeddedTurnStats {
  packets: number;
  dropped: number;
  errors: number;
  refusedPeers: number;
  /** Allocations made since start. */
  allocationsCreated: number;
  /** Allocations and port reservations now. */
  allocations: number;
  reservations: number;
}

const silent: TurnLogger = { debug() {}, info() {}, warn() {} };

export class EmbeddedTurnServer {
  readonly #log: TurnLogger;
  readonly #now: () => number;
  readonly #nt = nodeTurn();
  readonly #server: NtServer;
  readonly #socket: Socket;
  readonly #relayIp: string;
  readonly #peers: PeerRequests;
  readonly #allocations: Allocations;
  #dst!: NtAddress;
  readonly #stats: EmbeddedTurnStats = {
    packets: 0,
    dropped: 0,
    errors: 0,
    refusedPeers: 0,
    allocationsCreated: 0,
    allocations: 0,
    reservations: 0,
  };
  #closed = false;

  private constructor(opts: EmbeddedTurnOptions, socket: Socket) {
    this.#log = opts.log ?? silent;
    this.#now = opts.now ?? Date.now;
    this.#socket = socket;
    this.#relayIp = opts.relayIp ?? opts.listenIp;
    const events = turnSecurityEvents(this.#log, this.#now);
    const nonces = createNonceIssuer((opts.nonceLifetimeSeconds ?? 60) * 1000, this.#now);
    this.#server = new this.#nt.Server({
      listeningIps: [opts.listenIp],
      relayIps: [this.#relayIp],
      externalIps: opts.externalIp ?? null,
      minPort: opts.minPort,
      maxPort: opts.maxPort,
      authMech: 'long-term',
      // Expired usernames get their password too, so that node-turn checks MESSAGE-INTEGRITY of such a
      // request; refuseExpiredCredentials refuses them before node-turn's own authentication (which would
      // accept).
      credentials: restCredentialsMap(opts.secret, this.#now, { includeExpired: true }),
      realm: opts.realm ?? 'treffpunkt',
      debugLevel: 'OFF',
      debug: (level: string, msg: unknown) => {
        if (level === 'FATAL' || level === 'ERROR') this.#log.debug({ level, err: String(msg) }, 'node-turn');
      },
    });
    this.#server.software = 'treffpunkt';
    // Stateless nonces instead of node-turn's map with one timer per nonce.
    this.#server.authentification.generateNonce = () => nonces.generate();
    this.#server.authentification.checkNonce = (n) => nonces.check(n);
    refuseExpiredCredentials(this.#server, events, this.#now);
    this.#peers = new PeerRequests({
      server: this.#server,
      policy: opts.policy,
      relayFamily: relayFamily(this.#relayIp),
      counters: this.#stats,
      events,
      log: this.#log,
      now: this.#now,
    });
    this.#allocations = new Allocations({
      nt: this.#nt,
      server: this.#server,
      relayIp: this.#relayIp,
      minPort: opts.minPort,
      maxPort: opts.maxPort,
      userQuota: opts.userQuota,
      totalQuota: opts.totalQuota,
      maxLifetimeSeconds: opts.maxLifetimeSeconds ?? DEFAULT_LIFETIME,
      peers: this.#peers,
      events,
      counters: this.#stats,
      log: this.#log,
      now: this.#now,
    });
    for (const [event, handler] of [
      ['allocate', (m: NtMessage, r: NtMessage) => void this.#allocations.allocate(m, r)],
      ['refresh', (m: NtMessage, r: NtMessage) => this.#allocations.refresh(m, r)],
      ['create_permission', (m: NtMessage, r: NtMessage) => this.#peers.createPermission(m, r)],
      ['channel_bind', (m: NtMessage, r: NtMessage) => this.#peers.channelBind(m, r)],
      ['send', (m: NtMessage, r: NtMessage) => this.#peers.send(m, r)],
    ] as const) {
      this.#server.removeAllListeners(event);
      this.#server.on(event, (m, r) => {
        try {
          handler(m, r);
        } catch (err) {
          this.#stats.errors++;
          this.#log.debug({ err: (err as Error).message, event }, 'TURN request failed');
          r.reject(500, 'Server Error');
        }
      });
    }
  }

  static async start(opts: EmbeddedTurnOptions): Promise<EmbeddedTurnServer> {
    nodeTurn();
    if (opts.minPort > opts.maxPort) throw new Error('TURN relay port range is empty');
    const socket = createSocket({
      type: isIP(opts.listenIp) === 6 ? 'udp6' : 'udp4',
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: opts.listenIp, port: opts.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const server = new EmbeddedTurnServer(opts, socket);
    server.#dst = new server.#nt.Address(opts.listenIp, socket.address().port);
    socket.on('error', (err) => server.#log.warn({ err: err.message }, 'TURN socket error'));
    socket.on('message', (buf, rinfo) => server.#onPacket(buf, rinfo));
    server.#log.info(
      { address: opts.listenIp, port: server.port, relay: `${server.#relayIp}:${opts.minPort}-${opts.maxPort}` },
      'embedded TURN listening (UDP)',
    );
    return server;
  }

  get port(): number {
    return this.#dst.port;
  }

  stats(): EmbeddedTurnStats {
    return {
      ...this.#stats,
      allocations: this.#allocations.count,
      reservations: this.#allocations.reservations,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#allocations.close();
    await new Promise<void>((r) => this.#socket.close(() => r()));
  }

  // --- packets from clients ---

  #onPacket(buf: Buffer, rinfo: RemoteInfo): void {
    this.#stats.packets++;
    try {
      const packet = classifyPacket(buf);
      switch (packet.kind) {
        case 'invalid':
          this.#stats.dropped++;
          this.#log.debug({ from: rinfo.address, why: packet.reason }, 'TURN packet dropped');
          return;
        case 'bad-request':
          this.#stats.dropped++;
          this.#log.debug({ from: rinfo.address, why: packet.reason }, 'TURN request refused as malformed');
          this.#socket.send(
            encodeErrorResponse(packet.method, packet.transactionId, 400, 'Bad Request'),
            rinfo.port,
            rinfo.address,
          );
          return;
        case 'unknown-attributes':
          this.#socket.send(
            encodeErrorResponse(packet.method, packet.transactionId, 420, 'Unknown Attribute', packet.types),
            rinfo.port,
            rinfo.address,
          );
          return;
        case 'channel-data': {
          const src = new this.#nt.Address(rinfo.address, rinfo.port);
          const key = new this.#nt.Transport(this.#nt.UDP, src, this.#dst, this.#socket).get5Tuple();
          this.#peers.channelData(this.#server.allocations[key], packet.channel, packet.data);
          return;
        }
        case 'stun': {
          const src = new this.#nt.Address(rinfo.address, rinfo.port);
          const transport = new this.#nt.Transport(this.#nt.UDP, src, this.#dst, this.#socket);
          const msg = new this.#nt.Message(this.#server, transport);
          if (msg.read(buf)) this.#server.emit('message', msg);
          else this.#stats.dropped++;
          return;
        }
      }
    } catch (err) {
      // node-turn threw on something stun-packet.ts let through: drop this packet, keep everything else.
      this.#stats.errors++;
      this.#log.debug({ err: (err as Error).message, from: rinfo.address }, 'TURN packet dropped after an error');
    }
  }
}
