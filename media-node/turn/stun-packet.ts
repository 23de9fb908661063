/**
 * First look at every datagram that reaches the embedded TURN port, before node-turn sees it. node-turn's
 * parser trusts lengths and types (an unknown attribute, a short EVEN-PORT or an 8-byte RESERVATION-TOKEN
 * throw; ChannelData is not handled at all), so only packets that are well formed in every respect node-turn
 * relies on are passed on. Pure functions over a Buffer: they never throw and never allocate much.
 */

export const MAGIC_COOKIE = 0x2112a442;
/** Largest datagram accepted on the TURN port (WebRTC packets are < 1500 bytes; this leaves room for tests). */
export const MAX_PACKET = 16_384;

export const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  BANDWIDTH: 0x0010,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const;

export const METHOD = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;
export const CLASS = { REQUEST: 0, INDICATION: 1, SUCCESS: 2, ERROR: 3 } as const;

/** What a client may send to a TURN server: class and method pairs. */
const ACCEPTED = new Set([
  `${CLASS.REQUEST}:${METHOD.BINDING}`,
  `${CLASS.REQUEST}:${METHOD.ALLOCATE}`,
  `${CLASS.REQUEST}:${METHOD.REFRESH}`,
  `${CLASS.REQUEST}:${METHOD.CREATE_PERMISSION}`,
  `${CLASS.REQUEST}:${METHOD.CHANNEL_BIND}`,
  `${CLASS.INDICATION}:${METHOD.SEND}`,
]);

/** Comprehension-required attributes this server understands, with their allowed value lengths. */
type LengthCheck = (len: number, buf: Buffer, at: number) => boolean;
const KNOWN: ReadonlyMap<number, LengthCheck> = new Map<number, LengthCheck>([
  [ATTR.USERNAME, (l) => l >= 1 && l <= 513],
  [ATTR.MESSAGE_INTEGRITY, (l) => l === 20],
  [ATTR.CHANNEL_NUMBER, (l) => l === 4],
  [ATTR.LIFETIME, (l) => l === 4],
  [ATTR.BANDWIDTH, (l) => l === 4],
  [ATTR.XOR_PEER_ADDRESS, (l, b, at) => (b[at + 1] === 1 && l === 8) || (b[at + 1] === 2 && l === 20)],
  [ATTR.DATA, () => true],
  [ATTR.REALM, (l) => l >= 1 && l <= 763],
  [ATTR.NONCE, (l) => l >= 1 && l <= 763],
  [ATTR.REQUESTED_ADDRESS_FAMILY, (l) => l === 4],
  [ATTR.EVEN_PORT, (l) => l === 1],
  [ATTR.REQUESTED_TRANSPORT, (l) => l === 4],
  [ATTR.DONT_FRAGMENT, (l) => l === 0],
  [ATTR.RESERVATION_TOKEN, (l) => l === 8],
]);
const OPTIONAL_CHECKS: ReadonlyMap<number, (len: number) => boolean> = new Map<number, (len: number) => boolean>([
  [ATTR.SOFTWARE, (l) => l <= 763],
  [ATTR.FINGERPRINT, (l) => l === 4],
]);
const MAX_ATTRIBUTES = 96;
const MAX_PEER_ADDRESSES = 64;

export type Packet =
  | { kind: 'stun'; cls: number; method: number; transactionId: Buffer }
  /** A request with comprehension-required attributes we do not know: answer 420 (RFC 5389 7.3.1). */
  | { kind: 'unknown-attributes'; method: number; transactionId: Buffer; types: number[] }
  /** A request with a sound header but malformed attributes: answer 400 (an indication is dropped). */
  | { kind: 'bad-request'; method: number; transactionId: Buffer; reason: string }
  | { kind: 'channel-data'; channel: number; data: Buffer }
  | { kind: 'invalid'; reason: string };

const invalid = (reason: string): Packet => ({ kind: 'invalid', reason });

export function classifyPacket(buf: Buffer): Packet {
  if (buf.length < 4) return invalid('shorter than 4 bytes');
  if (buf.length > MAX_PACKET) return invalid('too large');
  const first = buf[0]! >> 6;
  if (first === 1) {
    const channel = buf.readUInt16BE(0);
    const length = buf.readUInt16BE(2);
    if (channel > 0x7ffe) return invalid('reserved channel number');
    if (buf.length < 4 + length || buf.length > 4 + length + 3) return invalid('ChannelData length mismatch');
    return { kind: 'channel-data', channel, data: buf.subarray(4, 4 + length) };
  }
  if (first !== 0) return invalid('neither STUN nor ChannelData');
  if (buf.length < 20) return invalid('STUN header truncated');
  const type = buf.readUInt16BE(0);
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length !== buf.length) return invalid('STUN length mismatch');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return invalid('no magic cookie');
  const cls = ((type >> 7) & 0x2) | ((type >> 4) & 0x1);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  if (!ACCEPTED.has(`${cls}:${method}`)) return invalid('not a client request or Send indication');
  const transactionId = buf.subarray(8, 20);

  const bad = (reason: string): Packet =>
    cls === CLASS.REQUEST ? { kind: 'bad-request', method, transactionId, reason } : invalid(reason);
  const unknown: number[] = [];
  let at = 20;
  let count = 0;
  let peers = 0;
  let sawIntegrity = false;
  let sawFingerprint = false;
  while (at < buf.length) {
    if (at + 4 > buf.length) return bad('attribute header truncated');
    const t = buf.readUInt16BE(at);
    const l = buf.readUInt16BE(at + 2);
    const padded = l + ((4 - (l % 4)) % 4);
    if (at + 4 + padded > buf.length) return bad('attribute value truncated');
    if (++count > MAX_ATTRIBUTES) return bad('too many attributes');
    if (sawFingerprint) return bad('attribute after FINGERPRINT');
    if (sawIntegrity && t !== ATTR.FINGERPRINT) return bad('attribute after MESSAGE-INTEGRITY');
    const known = KNOWN.get(t);
    if (known) {
      if (!known(l, buf, at + 4)) return bad(`attribute 0x${t.toString(16)} has a bad length or value`);
    } else if (t < 0x8000) {
      unknown.push(t);
    } else {
      const check = OPTIONAL_CHECKS.get(t);
      if (check && !check(l)) return bad(`attribute 0x${t.toString(16)} has a bad length`);
    }
    if (t === ATTR.XOR_PEER_ADDRESS && ++peers > MAX_PEER_ADDRESSES) return bad('too many peer addresses');
    if (t === ATTR.MESSAGE_INTEGRITY) sawIntegrity = true;
    if (t === ATTR.FINGERPRINT) sawFingerprint = true;
    at += 4 + padded;
  }
  if (unknown.length > 0) {
    // Indications with unknown comprehension-required attributes are discarded (no answer to indications).
    if (cls !== CLASS.REQUEST) return invalid('indication with unknown attributes');
    return { kind: 'unknown-attributes', method, transactionId, types: unknown.slice(0, 16) };
  }
  return { kind: 'stun', cls, method, transactionId };
}

/** The value of the first attribute of `type` in a packet that classifyPacket accepted. */
export function findAttribute(buf: Buffer, type: number): Buffer | undefined {
  let at = 20;
  while (at + 4 <= buf.length) {
    const t = buf.readUInt16BE(at);
    const l = buf.readUInt16BE(at + 2);
    if (at + 4 + l > buf.length) return undefined;
    if (t === type) return buf.subarray(at + 4, at + 4 + l);
    at += 4 + l + ((4 - (l % 4)) % 4);
  }
  return undefined;
}

/** A STUN error response without integrity (for 420 Unknown Attribute, which precedes authentication). */
export function encodeErrorResponse(
  method: number,
  transactionId: Buffer,
  code: number,
  reason: string,
  unknownTypes: number[] = [],
): Buffer {
  const attrs: Buffer[] = [];
  const reasonBytes = Buffer.from(reason, 'utf8');
  const err = Buffer.alloc(4 + pad(4 + reasonBytes.length));
  err.writeUInt16BE(ATTR.ERROR_CODE, 0);
  err.writeUInt16BE(4 + reasonBytes.length, 2);
  err[6] = Math.floor(code / 100);
  err[7] = code % 100;
  reasonBytes.copy(err, 8);
  attrs.push(err);
  if (unknownTypes.length) {
    const u = Buffer.alloc(4 + pad(2 * unknownTypes.length));
    u.writeUInt16BE(ATTR.UNKNOWN_ATTRIBUTES, 0);
    u.writeUInt16BE(2 * unknownTypes.length, 2);
    for (const [i, t] of unknownTypes.entries()) u.writeUInt16BE(t, 4 + 2 * i);
    attrs.push(u);
  }
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(messageType(method, CLASS.ERROR), 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8, 0, 12);
  return Buffer.concat([header, body]);
}

export function messageType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

function pad(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
