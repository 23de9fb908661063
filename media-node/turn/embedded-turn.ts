/**
 * The embedded TURN server: node-turn, driven from our own UDP socket and guarded.
 *
 * node-turn does the STUN message parsing, long-term authentication and the relay itself (permissions,
 * channel bindings, Data indications). Everything around it is ours, because node-turn 0.0.6 has none of it
 * or gets it wrong (see docs/turn.md for the evidence):
 * - every datagram is checked by stun-packet.ts first; node-turn only sees well-formed requests;
 * - ChannelData from the client (node-turn ignores it) is relayed here;
 * - allocations are made here: port choice in the configured range, EVEN-PORT with RESERVATION-TOKEN,
 *   REQUESTED-ADDRESS-FAMILY, per-user and total caps, expiry that closes the relay socket (node-turn only
 *   forgets the allocation and leaks the socket), and Refresh (node-turn's drops the allocation 1 ms later);
 * - every CreatePermission, ChannelBind, Send and ChannelData is checked against the peer policy;
 * - datagrams from peers are size-checked and node-turn's handler runs inside a try/catch (a datagram of
 *   1-3 bytes from a permitted peer throws in it and, unguarded, ends the process);
 * - credentials are TURN REST ones (rest-credentials.ts), nonces are stateless (nonces.ts);
 * - a credential bounds everything done with it: a request with an expired one is refused (401, checked
 *   here on every request, logged as a security event), and no allocation outlives the credential that
 *   made or last refreshed it (the granted LIFETIME stops at the credential's expiry), so a participant who
 *   is removed and gets no new credential loses its relay at the expiry at the latest.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import {
  nodeTurn,
  rawAttribute,
  type NtAllocation,
  type NtAddress,
  type NtMessage,
  type NtServer,
} from './node-turn.ts';
import type { Logger } from '../../shared/logger.ts';
import { createNonceIssuer } from './nonces.ts';
import type { PeerPolicy } from './peer-policy.ts';
import { parseRestUsername, restCredentialsMap } from './rest-credentials.ts';
import { turnSecurityEvents, type TurnSecurityEvents } from './turn-events.ts';
import { ATTR, classifyPacket, encodeErrorResponse, MAX_PACKET } from './stun-packet.ts';

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

/** RFC 5766 §2.2: an allocation's lifetime when the client asks for none or for less. */
const DEFAULT_LIFETIME = 600;
const RESERVATION_MS = 30_000;
const MAX_PERMISSIONS = 64;
const BIND_ATTEMPTS = 64;
/** Largest datagram relayed from a peer (WebRTC packets are < 1500 bytes). */
const MAX_PEER_DATAGRAM = MAX_PACKET;

const silent: TurnLogger = { debug() {}, info() {}, warn() {} };

interface Reservation {
  socket: Socket;
  user: string;
  timer: NodeJS.Timeout;
}

export class EmbeddedTurnServer {
  readonly #opts: EmbeddedTurnOptions;
  readonly #log: TurnLogger;
  readonly #now: () => number;
  readonly #nt = nodeTurn();
  readonly #server: NtServer;
  readonly #socket: Socket;
  readonly #relayIp: string;
  readonly #relayFamily: 'udp4' | 'udp6';
  #dst!: NtAddress;
  readonly #users = new Map<string, number>();
  readonly #pending = new Set<string>();
  readonly #reservations = new Map<string, Reservation>();
  readonly #events: TurnSecurityEvents;
  readonly #maxLifetime: number;
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
    this.#opts = opts;
    this.#log = opts.log ?? silent;
    this.#now = opts.now ?? Date.now;
    this.#socket = socket;
    this.#relayIp = opts.relayIp ?? opts.listenIp;
    this.#relayFamily = isIP(this.#relayIp) === 6 ? 'udp6' : 'udp4';
    this.#events = turnSecurityEvents(this.#log, this.#now);
    this.#maxLifetime = opts.maxLifetimeSeconds ?? DEFAULT_LIFETIME;
    const nonces = createNonceIssuer((opts.nonceLifetimeSeconds ?? 60) * 1000, this.#now);
    this.#server = new this.#nt.Server({
      listeningIps: [opts.listenIp],
      relayIps: [this.#relayIp],
      externalIps: opts.externalIp ?? null,
      minPort: opts.minPort,
      maxPort: opts.maxPort,
      authMech: 'long-term',
      // Expired usernames get their password too, so that node-turn checks MESSAGE-INTEGRITY of such a
      // request; #authenticate refuses them before node-turn's own authentication (which would accept).
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
    const auth = this.#server.authentification.auth.bind(this.#server.authentification);
    this.#server.authentification.auth = (msg, cb) => this.#authenticate(msg, cb, auth);
    for (const [event, handler] of [
      ['allocate', (m: NtMessage, r: NtMessage) => void this.#allocate(m, r)],
      ['refresh', (m: NtMessage, r: NtMessage) => this.#refresh(m, r)],
      ['create_permission', (m: NtMessage, r: NtMessage) => this.#createPermission(m, r)],
      ['channel_bind', (m: NtMessage, r: NtMessage) => this.#channelBind(m, r)],
      ['send', (m: NtMessage, r: NtMessage) => this.#send(m, r)],
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
      allocations: Object.keys(this.#server.allocations).length,
      reservations: this.#reservations.size,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of Object.values(this.#server.allocations)) this.#release(a);
    for (const [token, r] of this.#reservations) {
      clearTimeout(r.timer);
      closeQuietly(r.socket);
      this.#reservations.delete(token);
    }
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
        case 'channel-data':
          this.#channelData(packet.channel, packet.data, rinfo);
          return;
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

  /** RFC 6156: a peer of the other address family than the relay gets 443. */
  #familyMismatch(peer: NtAddress | undefined): boolean {
    return !!peer && typeof peer.address === 'string' && (isIP(peer.address) === 6) !== (this.#relayFamily === 'udp6');
  }

  #refused(peer: NtAddress | undefined, port?: number): string | undefined {
    if (!peer || typeof peer.address !== 'string') return 'no peer address';
    if (port !== undefined && (port < 1 || port > 65535)) return 'port 0';
    const why = this.#opts.policy(peer.address, port);
    if (why) {
      this.#stats.refusedPeers++;
      this.#log.debug({ peer: peer.address, port, why }, 'TURN peer refused');
    }
    return why;
  }

  // --- Allocate ---

  async #allocate(msg: NtMessage, reply: NtMessage): Promise<void> {
    const key = msg.transport.get5Tuple();
    const existing = this.#server.allocations[key];
    if (existing) {
      // A retransmission of the request that made this allocation gets the same answer; anything else 437.
      if (existing.transactionID !== msg.transactionID) return reply.reject(437, 'Allocation Mismatch');
      return this.#allocateSuccess(existing, reply, undefined);
    }
    if (this.#pending.has(key)) return reply.discard(); // still binding the first request's port
    if (msg.getAttribute('requested-transport') === undefined) return reply.reject(400, 'Bad Request');
    if (msg.getAttribute('requested-transport') !== this.#nt.UDP)
      return reply.reject(442, 'Unsupported Transport Protocol');
    const family = rawAttribute(msg, ATTR.REQUESTED_ADDRESS_FAMILY);
    if (Buffer.isBuffer(family) && family[0] !== (this.#relayFamily === 'udp4' ? 1 : 2))
      return reply.reject(440, 'Address Family not Supported');
    const evenPort = rawAttribute(msg, ATTR.EVEN_PORT) as boolean | undefined;
    const token = rawAttribute(msg, ATTR.RESERVATION_TOKEN);
    if (evenPort !== undefined && token !== undefined) return reply.reject(400, 'Bad Request');
    const user = parseRestUsername(msg.user?.username ?? '')?.user;
    if (!user) return reply.reject(401, 'Unauthorized');
    if ((this.#users.get(user) ?? 0) >= this.#opts.userQuota) {
      this.#events.refused(user, 'user quota', 'Allocate');
      return reply.reject(486, 'Allocation Quota Reached');
    }
    if (
      Object.keys(this.#server.allocations).length + this.#pending.size + this.#reservations.size >=
      this.#opts.totalQuota
    ) {
      this.#events.refused(user, 'total quota', 'Allocate');
      return reply.reject(508, 'Insufficient Capacity');
    }

    let socket: Socket | undefined;
    let reservedToken: string | undefined;
    this.#pending.add(key);
    this.#users.set(user, (this.#users.get(user) ?? 0) + 1);
    try {
      if (Buffer.isBuffer(token)) {
        const r = this.#reservations.get(token.toString('latin1'));
        if (!r || r.user !== user) throw new Capacity();
        clearTimeout(r.timer);
        this.#reservations.delete(token.toString('latin1'));
        socket = r.socket;
      } else if (evenPort !== undefined) {
        const pair = await this.#bindEven(evenPort);
        if (!pair) throw new Capacity();
        socket = pair[0];
        if (pair[1]) {
          // 8 ASCII characters: node-turn writes the token as a string into the 8-byte attribute.
          reservedToken = randomBytes(4).toString('hex');
          const reserved = pair[1];
          const timer = setTimeout(() => {
            this.#reservations.delete(reservedToken!);
            closeQuietly(reserved);
          }, RESERVATION_MS);
          timer.unref();
          this.#reservations.set(reservedToken, { socket: reserved, user, timer });
        }
      } else {
        socket = await this.#bindAny();
        if (!socket) throw new Capacity();
      }
      if (this.#closed) throw new Capacity();
      const until = this.#grant(msg);
      const allocation = new this.#nt.Allocation(msg, [socket], Math.ceil((until - this.#now()) / 1000));
      socket = undefined;
      this.#guardRelaySocket(allocation);
      this.#schedule(allocation, until);
      this.#stats.allocationsCreated++;
      this.#log.debug({ user, relay: String(allocation.relayedTransportAddress) }, 'TURN allocation');
      this.#allocateSuccess(allocation, reply, reservedToken);
    } catch (err) {
      if (socket) closeQuietly(socket);
      this.#decrementUser(user);
      if (err instanceof Capacity) reply.reject(508, 'Insufficient Capacity');
      else throw err;
    } finally {
      this.#pending.delete(key);
    }
  }

  #allocateSuccess(a: NtAllocation, reply: NtMessage, reservedToken: string | undefined): void {
    reply.addAttribute('xor-relayed-address', a.relayedTransportAddress);
    reply.addAttribute('lifetime', Math.max(0, Math.ceil((a.timeToExpiry - this.#now()) / 1000)));
    if (reservedToken) reply.addAttribute('reservation-token', reservedToken);
    reply.addAttribute('xor-mapped-address', a.mappedAddress);
    reply.addAttribute('software', this.#server.software);
    reply.addAttribute('message-integrity');
    reply.resolve();
  }

  async #bindAny(): Promise<Socket | undefined> {
    const { minPort, maxPort } = this.#opts;
    for (let i = 0; i < BIND_ATTEMPTS; i++) {
      const s = await bindUdp(
        this.#relayFamily,
        this.#relayIp,
        minPort + Math.floor(Math.random() * (maxPort - minPort + 1)),
      );
      if (s) return s;
    }
    return undefined;
  }

  /** An even port, and with `reserveNext` the odd port after it as well (EVEN-PORT with the R bit). */
  async #bindEven(reserveNext: boolean): Promise<[Socket, Socket | undefined] | undefined> {
    const first = this.#opts.minPort + (this.#opts.minPort % 2);
    const pairs = Math.floor((this.#opts.maxPort - first + (reserveNext ? 0 : 1)) / 2);
    if (pairs < 1) return undefined;
    for (let i = 0; i < BIND_ATTEMPTS; i++) {
      const port = first + 2 * Math.floor(Math.random() * pairs);
      const a = await bindUdp(this.#relayFamily, this.#relayIp, port);
      if (!a) continue;
      if (!reserveNext) return [a, undefined];
      const b = await bindUdp(this.#relayFamily, this.#relayIp, port + 1);
      if (b) return [a, b];
      closeQuietly(a);
    }
    return undefined;
  }

  /**
   * Until when (ms) an Allocate or Refresh keeps the allocation: RFC 5766's rule (the default for no or a
   * shorter request, at most the maximum), and never past the expiry of the request's credential. A client
   * that keeps its allocation beyond that needs a new credential, which only the edge hands out.
   */
  #grant(msg: NtMessage): number {
    const requested = msg.getAttribute('lifetime');
    const seconds =
      typeof requested === 'number'
        ? Math.min(Math.max(requested, DEFAULT_LIFETIME), this.#maxLifetime)
        : Math.min(DEFAULT_LIFETIME, this.#maxLifetime);
    const expiresAt = (parseRestUsername(msg.user?.username ?? '')?.expiresAt ?? 0) * 1000;
    return Math.min(this.#now() + seconds * 1000, expiresAt);
  }

  #schedule(a: NtAllocation, untilMs: number): void {
    clearTimeout(a.timer);
    const ms = Math.max(0, untilMs - this.#now());
    a.lifetime = Math.ceil(ms / 1000);
    a.timeToExpiry = untilMs;
    a.timer = setTimeout(() => {
      const parsed = parseRestUsername(a.user?.username ?? '');
      if (parsed && parsed.expiresAt * 1000 <= this.#now())
        this.#events.allocationEnded(parsed.user, 'credential expired');
      this.#release(a);
    }, ms);
    a.timer.unref();
  }

  /**
   * In front of node-turn's authentication: a request whose MESSAGE-INTEGRITY is right but whose
   * credential has expired is refused here with 401 (and REALM and NONCE, as RFC 5389 §10.2.2 asks for
   * a credential that is no longer valid), and logged. Everything else goes on to node-turn, which
   * refuses malformed, forged and wrong-secret credentials itself.
   */
  #authenticate(
    msg: NtMessage,
    cb: (err: Error | null, reply?: NtMessage) => void,
    next: (msg: NtMessage, cb: (err: Error | null, reply?: NtMessage) => void) => void,
  ): void {
    const username = msg.getAttribute('username');
    const parsed = typeof username === 'string' ? parseRestUsername(username) : undefined;
    if (parsed && parsed.expiresAt * 1000 <= this.#now() && typeof msg.getAttribute('message-integrity') === 'string') {
      this.#events.refused(parsed.user, 'credential expired', methodName(msg.method));
      const reply = msg.reply();
      reply.addAttribute('realm', this.#server.realm);
      reply.addAttribute('nonce', this.#server.authentification.generateNonce());
      reply.reject(401, 'Unauthorized');
      return cb(new Error('credential expired'));
    }
    next(msg, cb);
  }

  #release(a: NtAllocation): void {
    clearTimeout(a.timer);
    if (this.#server.allocations[a.fiveTuple] !== a) return;
    delete this.#server.allocations[a.fiveTuple];
    for (const s of a.sockets) closeQuietly(s);
    const user = parseRestUsername(a.user?.username ?? '')?.user;
    if (user) this.#decrementUser(user);
  }

  #decrementUser(user: string): void {
    const n = (this.#users.get(user) ?? 1) - 1;
    if (n <= 0) this.#users.delete(user);
    else this.#users.set(user, n);
  }

  /** Wraps node-turn's handler for datagrams from peers: size and policy checks, and no exception escapes. */
  #guardRelaySocket(a: NtAllocation): void {
    for (const socket of a.sockets) {
      const handlers = socket.listeners('message') as ((data: Buffer, rinfo: RemoteInfo) => void)[];
      socket.removeAllListeners('message');
      socket.removeAllListeners('error');
      socket.on('error', (err) => this.#log.debug({ err: err.message }, 'TURN relay socket error'));
      socket.on('message', (data: Buffer, rinfo: RemoteInfo) => {
        if (data.length > MAX_PEER_DATAGRAM || this.#opts.policy(rinfo.address, rinfo.port)) {
          this.#stats.dropped++;
          return;
        }
        try {
          for (const h of handlers) h.call(socket, data, rinfo);
        } catch (err) {
          this.#stats.errors++;
          this.#log.debug({ err: (err as Error).message }, 'TURN peer datagram dropped after an error');
        }
      });
    }
  }

  // --- Refresh, CreatePermission, ChannelBind, Send, ChannelData ---

  #refresh(msg: NtMessage, reply: NtMessage): void {
    const a = msg.allocation!;
    const requested = msg.getAttribute('lifetime');
    const family = rawAttribute(msg, ATTR.REQUESTED_ADDRESS_FAMILY);
    if (Buffer.isBuffer(family) && family[0] !== (this.#relayFamily === 'udp4' ? 1 : 2))
      return reply.reject(443, 'Peer Address Family Mismatch');
    let lifetime = 0;
    if (requested === 0) this.#release(a);
    else {
      const until = this.#grant(msg);
      this.#schedule(a, until);
      lifetime = a.lifetime;
    }
    reply.addAttribute('lifetime', lifetime);
    reply.addAttribute('software', this.#server.software);
    reply.addAttribute('message-integrity');
    reply.resolve();
  }

  #createPermission(msg: NtMessage, reply: NtMessage): void {
    const peers = msg.getAttributes('xor-peer-address') as NtAddress[];
    for (const peer of peers) {
      if (this.#familyMismatch(peer)) return reply.reject(443, 'Peer Address Family Mismatch');
      if (this.#refused(peer)) return reply.reject(403, 'Forbidden');
    }
    const a = msg.allocation!;
    const now = this.#now();
    for (const [ip, until] of Object.entries(a.permissions)) if (until < now) delete a.permissions[ip];
    const fresh = new Set(peers.map((p) => p.address).filter((ip) => !(ip in a.permissions)));
    if (Object.keys(a.permissions).length + fresh.size > MAX_PERMISSIONS)
      return reply.reject(508, 'Insufficient Capacity');
    this.#server.createPermission.createPermission(msg, reply);
  }

  #channelBind(msg: NtMessage, reply: NtMessage): void {
    const peer = msg.getAttribute('xor-peer-address') as NtAddress | undefined;
    if (this.#familyMismatch(peer)) return reply.reject(443, 'Peer Address Family Mismatch');
    if (peer && this.#refused(peer, peer.port)) return reply.reject(403, 'Forbidden');
    // node-turn answers a successful ChannelBind without MESSAGE-INTEGRITY, which clients must reject.
    const resolve = reply.resolve.bind(reply);
    reply.resolve = () => {
      reply.addAttribute('software', this.#server.software);
      reply.addAttribute('message-integrity');
      resolve();
    };
    this.#server.channelBind.channelBind(msg, reply);
  }

  #send(msg: NtMessage, reply: NtMessage): void {
    const peer = msg.getAttribute('xor-peer-address') as NtAddress | undefined;
    if (!peer || this.#familyMismatch(peer) || this.#refused(peer, peer.port)) {
      this.#stats.dropped++;
      return reply.discard();
    }
    this.#server.send.send(msg, reply);
  }

  #channelData(channel: number, data: Buffer, rinfo: RemoteInfo): void {
    const src = new this.#nt.Address(rinfo.address, rinfo.port);
    const key = new this.#nt.Transport(this.#nt.UDP, src, this.#dst, this.#socket).get5Tuple();
    const a = this.#server.allocations[key];
    const peer = a?.channelBindings[channel];
    if (!a || !peer || !((a.permissions[peer.address] ?? 0) > this.#now()) || this.#refused(peer, peer.port)) {
      this.#stats.dropped++;
      return;
    }
    a.sockets[0]!.send(data, peer.port, peer.address, (err) => {
      if (err) this.#log.debug({ err: err.message }, 'TURN ChannelData relay failed');
    });
  }
}

class Capacity extends Error {}

const METHOD_NAMES: Record<number, string> = { 3: 'Allocate', 4: 'Refresh', 8: 'CreatePermission', 9: 'ChannelBind' };
function methodName(method: number): string {
  return METHOD_NAMES[method] ?? `method 0x${method.toString(16)}`;
}

function bindUdp(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket({ type });
    s.once('error', () => {
      closeQuietly(s);
      resolve(undefined);
    });
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
  });
}

function closeQuietly(s: Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}
