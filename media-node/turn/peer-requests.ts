/**
 * Everything on the embedded TURN server (embedded-turn.ts) that names a peer, checked against the peer
 * policy: CreatePermission, ChannelBind, Send, ChannelData from the client (node-turn ignores it, so it is
 * relayed here), and datagrams from peers on the relay sockets. node-turn has no peer restrictions (its 403
 * branch is `if (0)`), and its handler for peer datagrams throws on a datagram of 1-3 bytes from a permitted
 * peer, which, unguarded, ends the process.
 */
import type { RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import type { TurnLogger } from './embedded-turn.ts';
import type { NtAddress, NtAllocation, NtMessage, NtServer } from './node-turn.ts';
import type { PeerPolicy } from './peer-policy.ts';
import type { RelayFamily } from './relay-ports.ts';
import type { TurnSecurityEvents } from './turn-events.ts';
import { MAX_PACKET } from './stun-packet.ts';

/** At most this many peers permitted per allocation (508 beyond). */
const MAX_PERMISSIONS = 64;
/** Largest datagram relayed from a peer (WebRTC packets are < 1500 bytes). */
const MAX_PEER_DATAGRAM = MAX_PACKET;

/** The server's counters these checks add to (the object itself, shared). */
export interface PeerCounters {
  dropped: number;
  errors: number;
  refusedPeers: number;
}

export interface PeerRequestsOptions {
  server: NtServer;
  policy: PeerPolicy;
  relayFamily: RelayFamily;
  counters: PeerCounters;
  events: TurnSecurityEvents;
  log: TurnLogger;
  now: () => number;
}

export class PeerRequests {
  readonly #server: NtServer;
  readonly #policy: PeerPolicy;
  readonly #relayFamily: RelayFamily;
  readonly #counters: PeerCounters;
  readonly #events: TurnSecurityEvents;
  readonly #log: TurnLogger;
  readonly #now: () => number;

  constructor(opts: PeerRequestsOptions) {
    this.#server = opts.server;
    this.#policy = opts.policy;
    this.#relayFamily = opts.relayFamily;
    this.#counters = opts.counters;
    this.#events = opts.events;
    this.#log = opts.log;
    this.#now = opts.now;
  }

  createPermission(msg: NtMessage, reply: NtMessage): void {
    const peers = msg.getAttributes('xor-peer-address') as NtAddress[];
    for (const peer of peers) {
      if (this.#familyMismatch(peer)) return reply.reject(443, 'Peer Address Family Mismatch');
      if (this.#refused(peer, undefined, 'CreatePermission')) return reply.reject(403, 'Forbidden');
    }
    const a = msg.allocation!;
    const now = this.#now();
    for (const [ip, until] of Object.entries(a.permissions)) if (until < now) delete a.permissions[ip];
    const fresh = new Set(peers.map((p) => p.address).filter((ip) => !(ip in a.permissions)));
    if (Object.keys(a.permissions).length + fresh.size > MAX_PERMISSIONS)
      return reply.reject(508, 'Insufficient Capacity');
    this.#server.createPermission.createPermission(msg, reply);
  }

  channelBind(msg: NtMessage, reply: NtMessage): void {
    const peer = msg.getAttribute('xor-peer-address') as NtAddress | undefined;
    if (this.#familyMismatch(peer)) return reply.reject(443, 'Peer Address Family Mismatch');
    if (peer && this.#refused(peer, peer.port, 'ChannelBind')) return reply.reject(403, 'Forbidden');
    // node-turn answers a successful ChannelBind without MESSAGE-INTEGRITY, which clients must reject.
    const resolve = reply.resolve.bind(reply);
    reply.resolve = () => {
      reply.addAttribute('software', this.#server.software);
      reply.addAttribute('message-integrity');
      resolve();
    };
    this.#server.channelBind.channelBind(msg, reply);
  }

  send(msg: NtMessage, reply: NtMessage): void {
    const peer = msg.getAttribute('xor-peer-address') as NtAddress | undefined;
    if (!peer || this.#familyMismatch(peer) || this.#refused(peer, peer.port, 'Send')) {
      this.#counters.dropped++;
      return reply.discard();
    }
    this.#server.send.send(msg, reply);
  }

  /** ChannelData from the client whose allocation is `a` (undefined: it has none). */
  channelData(a: NtAllocation | undefined, channel: number, data: Buffer): void {
    const peer = a?.channelBindings[channel];
    if (
      !a ||
      !peer ||
      !((a.permissions[peer.address] ?? 0) > this.#now()) ||
      this.#refused(peer, peer.port, 'ChannelData')
    ) {
      this.#counters.dropped++;
      return;
    }
    a.sockets[0]!.send(data, peer.port, peer.address, (err) => {
      if (err) this.#log.debug({ err: err.message }, 'TURN ChannelData relay failed');
    });
  }

  /** Wraps node-turn's handler for datagrams from peers: size and policy checks, and no exception escapes. */
  guardRelaySocket(a: NtAllocation): void {
    for (const socket of a.sockets) {
      const handlers = socket.listeners('message') as ((data: Buffer, rinfo: RemoteInfo) => void)[];
      socket.removeAllListeners('message');
      socket.removeAllListeners('error');
      socket.on('error', (err) => this.#log.debug({ err: err.message }, 'TURN relay socket error'));
      socket.on('message', (data: Buffer, rinfo: RemoteInfo) => {
        if (data.length > MAX_PEER_DATAGRAM || this.#policy(rinfo.address, rinfo.port)) {
          this.#counters.dropped++;
          return;
        }
        try {
          for (const h of handlers) h.call(socket, data, rinfo);
        } catch (err) {
          this.#counters.errors++;
          this.#log.debug({ err: (err as Error).message }, 'TURN peer datagram dropped after an error');
        }
      });
    }
  }

  /** RFC 6156: a peer of the other address family than the relay gets 443. */
  #familyMismatch(peer: NtAddress | undefined): boolean {
    return !!peer && typeof peer.address === 'string' && (isIP(peer.address) === 6) !== (this.#relayFamily === 'udp6');
  }

  #refused(peer: NtAddress | undefined, port: number | undefined, method: string): string | undefined {
    if (!peer || typeof peer.address !== 'string') return 'no peer address';
    if (port !== undefined && (port < 1 || port > 65535)) return 'port 0';
    const why = this.#policy(peer.address, port);
    if (why) {
      this.#counters.refusedPeers++;
      this.#events.peerRefused(peer.address, port, why, method);
    }
    return why;
  }
}
