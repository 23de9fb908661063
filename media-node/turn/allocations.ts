/**
 * The embedded TURN server's allocations (embedded-turn.ts): Allocate, Refresh, expiry and release. All ours,
 * because node-turn 0.0.6 gets each of them wrong (docs/turn.md):
 * - port choice in the configured range, EVEN-PORT with RESERVATION-TOKEN (relay-ports.ts) and
 *   REQUESTED-ADDRESS-FAMILY (node-turn cannot read EVEN-PORT and throws on RESERVATION-TOKEN);
 * - per-user and total caps (allocation-quota.ts; node-turn has none);
 * - expiry that closes the relay socket (node-turn only forgets the allocation and leaks the socket);
 * - Refresh (node-turn's drops the allocation 1 ms later);
 * - lifetimes that stop at the credential's expiry (credential-lifetime.ts).
 */
import type { Socket } from 'node:dgram';
import { AllocationQuota } from './allocation-quota.ts';
import { credentialExpired, grantedUntil, scheduleExpiry } from './credential-lifetime.ts';
import { type nodeTurn, type NtAllocation, type NtMessage, type NtServer, rawAttribute } from './node-turn.ts';
import type { PeerRequests } from './peer-requests.ts';
import { closeQuietly, RelayPorts } from './relay-ports.ts';
import { parseRestUsername } from './rest-credentials.ts';
import { ATTR } from './stun-packet.ts';
import type { TurnLogger } from './embedded-turn.ts';
import type { TurnSecurityEvents } from './turn-events.ts';

type NodeTurnModules = ReturnType<typeof nodeTurn>;

export interface AllocationsOptions {
  nt: NodeTurnModules;
  server: NtServer;
  /** Address relay sockets bind to, and the range of their ports. */
  relayIp: string;
  minPort: number;
  maxPort: number;
  userQuota: number;
  totalQuota: number;
  /** Longest lifetime one Allocate or Refresh grants (s). */
  maxLifetimeSeconds: number;
  /** Guards each new allocation's relay socket. */
  peers: PeerRequests;
  events: TurnSecurityEvents;
  /** The server's counter of allocations made (the object itself, shared). */
  counters: { allocationsCreated: number };
  log: TurnLogger;
  now: () => number;
}

export class Allocations {
  readonly #nt: NodeTurnModules;
  readonly #server: NtServer;
  readonly #ports: RelayPorts;
  readonly #quota: AllocationQuota;
  readonly #maxLifetime: number;
  readonly #peers: PeerRequests;
  readonly #events: TurnSecurityEvents;
  readonly #counters: { allocationsCreated: number };
  readonly #log: TurnLogger;
  readonly #now: () => number;
  #closed = false;

  constructor(opts: AllocationsOptions) {
    this.#nt = opts.nt;
    this.#server = opts.server;
    this.#ports = new RelayPorts(opts.relayIp, opts.minPort, opts.maxPort);
    this.#quota = new AllocationQuota(opts.userQuota, opts.totalQuota);
    this.#maxLifetime = opts.maxLifetimeSeconds;
    this.#peers = opts.peers;
    this.#events = opts.events;
    this.#counters = opts.counters;
    this.#log = opts.log;
    this.#now = opts.now;
  }

  /** Allocations now. */
  get count(): number {
    return Object.keys(this.#server.allocations).length;
  }

  /** Ports now held for a RESERVATION-TOKEN. */
  get reservations(): number {
    return this.#ports.reservations;
  }

  /** Ends every allocation and reservation; Allocates still binding a port then fail with 508. */
  close(): void {
    this.#closed = true;
    for (const a of Object.values(this.#server.allocations)) this.#release(a);
    this.#ports.close();
  }

  async allocate(msg: NtMessage, reply: NtMessage): Promise<void> {
    const key = msg.transport.get5Tuple();
    const existing = this.#server.allocations[key];
    if (existing) {
      // A retransmission of the request that made this allocation gets the same answer; anything else 437.
      if (existing.transactionID !== msg.transactionID) return reply.reject(437, 'Allocation Mismatch');
      return this.#allocateSuccess(existing, reply, undefined);
    }
    if (this.#quota.isPending(key)) return reply.discard(); // still binding the first request's port
    if (msg.getAttribute('requested-transport') === undefined) return reply.reject(400, 'Bad Request');
    if (msg.getAttribute('requested-transport') !== this.#nt.UDP)
      return reply.reject(442, 'Unsupported Transport Protocol');
    if (this.#otherFamilyRequested(msg)) return reply.reject(440, 'Address Family not Supported');
    const evenPort = rawAttribute(msg, ATTR.EVEN_PORT) as boolean | undefined;
    const token = rawAttribute(msg, ATTR.RESERVATION_TOKEN);
    if (evenPort !== undefined && token !== undefined) return reply.reject(400, 'Bad Request');
    const user = parseRestUsername(msg.user?.username ?? '')?.user;
    if (!user) return reply.reject(401, 'Unauthorized');
    const refusal = this.#quota.refusal(user, this.count + this.#ports.reservations);
    if (refusal) {
      this.#events.refused(user, refusal, 'Allocate');
      return refusal === 'user quota'
        ? reply.reject(486, 'Allocation Quota Reached')
        : reply.reject(508, 'Insufficient Capacity');
    }

    let socket: Socket | undefined;
    let reservedToken: string | undefined;
    this.#quota.begin(key, user);
    try {
      if (Buffer.isBuffer(token)) {
        socket = this.#ports.claim(token.toString('latin1'), user);
        if (!socket) throw new Capacity();
      } else if (evenPort !== undefined) {
        const pair = await this.#ports.bindEven(evenPort);
        if (!pair) throw new Capacity();
        socket = pair[0];
        if (pair[1]) reservedToken = this.#ports.reserve(pair[1], user);
      } else {
        socket = await this.#ports.bindAny();
        if (!socket) throw new Capacity();
      }
      if (this.#closed) throw new Capacity();
      const until = grantedUntil(msg, this.#now(), this.#maxLifetime);
      const allocation = new this.#nt.Allocation(msg, [socket], Math.ceil((until - this.#now()) / 1000));
      socket = undefined;
      this.#peers.guardRelaySocket(allocation);
      this.#schedule(allocation, until);
      this.#counters.allocationsCreated++;
      this.#log.debug({ user, relay: String(allocation.relayedTransportAddress) }, 'TURN allocation');
      this.#allocateSuccess(allocation, reply, reservedToken);
    } catch (err) {
      if (socket) closeQuietly(socket);
      this.#quota.release(user);
      if (err instanceof Capacity) reply.reject(508, 'Insufficient Capacity');
      else throw err;
    } finally {
      this.#quota.settled(key);
    }
  }

  refresh(msg: NtMessage, reply: NtMessage): void {
    const a = msg.allocation!;
    const requested = msg.getAttribute('lifetime');
    if (this.#otherFamilyRequested(msg)) return reply.reject(443, 'Peer Address Family Mismatch');
    let lifetime = 0;
    if (requested === 0) this.#release(a);
    else {
      this.#schedule(a, grantedUntil(msg, this.#now(), this.#maxLifetime));
      lifetime = a.lifetime;
    }
    reply.addAttribute('lifetime', lifetime);
    reply.addAttribute('software', this.#server.software);
    reply.addAttribute('message-integrity');
    reply.resolve();
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

  /** REQUESTED-ADDRESS-FAMILY present and not the relay's. */
  #otherFamilyRequested(msg: NtMessage): boolean {
    const family = rawAttribute(msg, ATTR.REQUESTED_ADDRESS_FAMILY);
    return Buffer.isBuffer(family) && family[0] !== (this.#ports.family === 'udp4' ? 1 : 2);
  }

  #schedule(a: NtAllocation, untilMs: number): void {
    scheduleExpiry(a, untilMs, this.#now(), () => {
      const expired = credentialExpired(a, this.#now());
      if (expired) this.#events.allocationEnded(expired.user, 'credential expired');
      this.#release(a);
    });
  }

  #release(a: NtAllocation): void {
    clearTimeout(a.timer);
    if (this.#server.allocations[a.fiveTuple] !== a) return;
    delete this.#server.allocations[a.fiveTuple];
    for (const s of a.sockets) closeQuietly(s);
    const user = parseRestUsername(a.user?.username ?? '')?.user;
    if (user) this.#quota.release(user);
  }
}

/** No relay port could be had (range exhausted, reservation unknown or someone else's, server closing): 508. */
class Capacity extends Error {}
