/**
 * Which peers a TURN allocation may relay to. A TURN server relays for anyone holding a credential, so
 * without a policy it is an open door into the operator's network: loopback services, the private LAN,
 * cloud metadata endpoints (169.254.169.254) and the node's own ports. One list of denied ranges serves the
 * embedded server (checked on every CreatePermission, ChannelBind, Send and ChannelData) and coturn
 * (written as `denied-peer-ip` lines), so both refuse the same peers.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface DeniedRange {
  cidr: string;
  why: string;
  /** Loopback ranges: allowed when the development setting allows loopback peers. */
  loopback?: boolean;
  /** Not written for coturn: 4.6.1 reads `denied-peer-ip=::-::` as "deny every peer". */
  notForCoturn?: boolean;
}

/** Ranges no TURN allocation may reach (RFC 6890 special-purpose registries, plus CGNAT). */
export const DENIED_PEER_RANGES: readonly DeniedRange[] = [
  { cidr: '0.0.0.0/8', why: 'this network / unspecified' },
  { cidr: '10.0.0.0/8', why: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', why: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', why: 'loopback', loopback: true },
  { cidr: '169.254.0.0/16', why: 'link-local (cloud metadata services live here)' },
  { cidr: '172.16.0.0/12', why: 'private (RFC 1918)' },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', why: 'documentation' },
  { cidr: '192.88.99.0/24', why: '6to4 relay anycast' },
  { cidr: '192.168.0.0/16', why: 'private (RFC 1918)' },
  { cidr: '198.18.0.0/15', why: 'benchmarking' },
  { cidr: '198.51.100.0/24', why: 'documentation' },
  { cidr: '203.0.113.0/24', why: 'documentation' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: '240.0.0.0/4', why: 'reserved and broadcast' },
  { cidr: '::1/128', why: 'loopback', loopback: true },
  { cidr: '::/128', why: 'unspecified', notForCoturn: true },
  { cidr: '100::/64', why: 'discard-only' },
  { cidr: '2001:db8::/32', why: 'documentation' },
  { cidr: 'fc00::/7', why: 'unique-local (private)' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fec0::/10', why: 'site-local (deprecated private)' },
  { cidr: 'ff00::/8', why: 'multicast' },
];
// IPv4-mapped addresses (::ffff:a.b.c.d) are matched against the IPv4 ranges by BlockList itself;
// NAT64 (64:ff9b::/96), 6to4 (2002::/16) and IPv4-compatible (::a.b.c.d) addresses are checked by the IPv4
// address they embed.

export interface PeerPolicyOptions {
  /** Development only: allow 127.0.0.0/8 and ::1 (the local tests' peers live there). */
  allowLoopback: boolean;
  /**
   * The node's own addresses (listen, relay, announced). Every interface address is added too, except
   * loopback ones: a loopback address is the node's own only when listed here (the SFU listens on it).
   */
  ownAddresses?: readonly string[];
  /**
   * The node's WebRTC ports (the SFU): the one service on the node's own addresses that a relayed browser
   * must reach. Own addresses are refused on every other port (control API, TURN itself, anything else).
   */
  sfuPorts?: readonly number[];
  /** Ports on loopback that stay forbidden even when loopback is allowed (the TURN port itself). Read at each check. */
  protectedPorts?: ReadonlySet<number>;
  /** Leave out the machine's interface addresses (tests). */
  skipInterfaces?: boolean;
}

/** Returns why a peer is refused, or undefined when it may be relayed to. Never throws. */
export type PeerPolicy = (address: string, port?: number) => string | undefined;

const family = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

export function createPeerPolicy(opts: PeerPolicyOptions): PeerPolicy {
  const denied = new BlockList();
  const loopback = new BlockList();
  for (const r of DENIED_PEER_RANGES) {
    const [net, bits] = r.cidr.split('/') as [string, string];
    (r.loopback ? loopback : denied).addSubnet(net, Number(bits), family(net));
  }
  const own = new BlockList();
  const ownList = [...(opts.ownAddresses ?? [])];
  if (!opts.skipInterfaces) {
    for (const list of Object.values(networkInterfaces()))
      for (const i of list ?? []) if (!i.internal) ownList.push(i.address.split('%')[0]!);
  }
  for (const a of ownList) if (isIP(a)) own.addAddress(a, family(a));
  const protectedPorts = opts.protectedPorts ?? new Set<number>();
  const sfuPorts = new Set(opts.sfuPorts ?? []);

  const check = (ip: string, port: number | undefined, depth: number): string | undefined => {
    const kind = isIP(ip);
    if (kind === 0) return 'not an IP address';
    const fam = kind === 6 ? 'ipv6' : 'ipv4';
    if (kind === 6 && depth === 0) {
      const embedded = embeddedIpv4(ip);
      if (embedded) {
        const why = check(embedded, port, 1);
        if (why) return `${why} (embedded in ${ip})`;
      }
    }
    const isOwn = own.check(ip, fam);
    // The SFU's own ports first, before the loopback rule (issue 15): in the all-in-one setup the SFU
    // listens on 127.0.0.1, and the relay fallback is useless if TURN refuses to reach it there.
    // A permission (port undefined) is per IP: allowed, since the SFU is there; each packet is checked with its port.
    if (isOwn && sfuPorts.size > 0 && (port === undefined || sfuPorts.has(port))) return undefined;
    if (loopback.check(ip, fam)) {
      if (!opts.allowLoopback) return 'loopback';
      if (port !== undefined && protectedPorts.has(port)) return "this TURN server's own port";
      return undefined;
    }
    if (isOwn) return "one of this node's own addresses (only its WebRTC ports may be relayed to)";
    if (denied.check(ip, fam)) {
      const range = DENIED_PEER_RANGES.find((r) => !r.loopback && inCidr(ip, r.cidr));
      return range ? `${range.why} (${range.cidr})` : 'a denied range';
    }
    return undefined;
  };
  return (address, port) => {
    try {
      return check(address, port, 0);
    } catch {
      return 'unparseable address';
    }
  };
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/') as [string, string];
  const b = new BlockList();
  b.addSubnet(net, Number(bits), family(net));
  return b.check(ip, family(ip));
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address. */
function embeddedIpv4(ip: string): string | undefined {
  const words = ipv6Words(ip);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0))
    return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  if (words.slice(0, 6).every((w) => w === 0) && (words[6]! !== 0 || words[7]! > 1)) return v4(words[6]!, words[7]!);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (with :: and a dotted IPv4 tail), or undefined. */
export function ipv6Words(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let s = ip.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const p = dotted[1]!.split('.').map(Number);
    s = `${s.slice(0, -dotted[1]!.length)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t].map((w) => parseInt(w, 16));
  return all.length === 8 && all.every((w) => w >= 0 && w <= 0xffff) ? all : undefined;
}

/** `denied-peer-ip` values for coturn: each range as first-last. Loopback is left to allow-loopback-peers. */
export function coturnDeniedPeerRanges(): string[] {
  return DENIED_PEER_RANGES.filter((r) => !r.loopback && !r.notForCoturn).map((r) => cidrToRange(r.cidr));
}

export function cidrToRange(cidr: string): string {
  const [net, bitsText] = cidr.split('/') as [string, string];
  const bits = Number(bitsText);
  if (isIP(net) === 4) {
    const n = net.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n);
    const host = (1n << BigInt(32 - bits)) - 1n;
    const fmt = (v: bigint) => [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
    return `${fmt(n & ~host)}-${fmt((n & ~host) | host)}`;
  }
  const words = ipv6Words(net)!;
  const n = words.reduce((a, w) => (a << 16n) | BigInt(w), 0n);
  const host = (1n << BigInt(128 - bits)) - 1n;
  const fmt = (v: bigint) =>
    Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
  return `${fmt(n & ~host & ((1n << 128n) - 1n))}-${fmt((n & ~host) | host)}`;
}
