/**
 * A small TURN client for tests (RFC 5389/5766 over UDP): Allocate with the long-term credential
 * challenge, Refresh, CreatePermission, ChannelBind, Send indications and ChannelData, and what arrives
 * back (Data indications, ChannelData). Independent of the server's own parser on purpose. Every request
 * is retransmitted a bounded number of times and times out.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export const COOKIE = 0x2112a442;
export const A = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
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
export const M = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;
export const C = { REQUEST: 0, INDICATION: 1, SUCCESS: 2, ERROR: 3 } as const;

export interface Attr {
  type: number;
  value: Buffer;
}
export interface StunMessage {
  cls: number;
  method: number;
  tid: Buffer;
  attrs: Attr[];
}

const pad4 = (n: number) => n + ((4 - (n % 4)) % 4);

export function stunType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

/** Encodes a STUN message; with `key` adds MESSAGE-INTEGRITY, with `fingerprint` FINGERPRINT. */
export function encodeStun(m: StunMessage, opts: { key?: Buffer; fingerprint?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const a of m.attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(a.type, 0);
    h.writeUInt16BE(a.value.length, 2);
    parts.push(h, a.value, Buffer.alloc(pad4(a.value.length) - a.value.length));
  }
  let body = Buffer.concat(parts);
  const header = (extra: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(stunType(m.method, m.cls), 0);
    h.writeUInt16BE(body.length + extra, 2);
    h.writeUInt32BE(COOKIE, 4);
    m.tid.copy(h, 8);
    return h;
  };
  if (opts.key) {
    const mac = createHmac('sha1', opts.key)
      .update(Buffer.concat([header(24), body]))
      .digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(A.MESSAGE_INTEGRITY, 0);
    h.writeUInt16BE(20, 2);
    body = Buffer.concat([body, h, mac]);
  }
  if (opts.fingerprint) {
    const crc = crc32(Buffer.concat([header(8), body])) ^ 0x5354554e;
    const f = Buffer.alloc(8);
    f.writeUInt16BE(A.FINGERPRINT, 0);
    f.writeUInt16BE(4, 2);
    f.writeUInt32BE(crc >>> 0, 4);
    body = Buffer.concat([body, f]);
  }
  return Buffer.concat([header(0), body]);
}

export function decodeStun(buf: Buffer): StunMessage | undefined {
  if (buf.length < 20 || buf[0]! >> 6 !== 0 || buf.readUInt32BE(4) !== COOKIE) return undefined;
  const type = buf.readUInt16BE(0);
  const len = buf.readUInt16BE(2);
  if (20 + len > buf.length) return undefined;
  const attrs: Attr[] = [];
  let at = 20;
  while (at + 4 <= 20 + len) {
    const t = buf.readUInt16BE(at);
    const l = buf.readUInt16BE(at + 2);
    if (at + 4 + l > buf.length) return undefined;
    attrs.push({ type: t, value: buf.subarray(at + 4, at + 4 + l) });
    at += 4 + pad4(l);
  }
  return {
    cls: ((type >> 7) & 2) | ((type >> 4) & 1),
    method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
    tid: Buffer.from(buf.subarray(8, 20)),
    attrs,
  };
}

export const attr = (m: StunMessage, type: number) => m.attrs.find((a) => a.type === type)?.value;

export function xorAddress(ip: string, port: number, tid: Buffer): Buffer {
  const v6 = isIP(ip) === 6;
  const b = Buffer.alloc(v6 ? 20 : 8);
  b[1] = v6 ? 2 : 1;
  b.writeUInt16BE(port ^ (COOKIE >>> 16), 2);
  const raw = v6 ? ipv6Bytes(ip) : Buffer.from(ip.split('.').map(Number));
  const key = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), tid]);
  for (let i = 0; i < raw.length; i++) b[4 + i] = raw[i]! ^ key[i]!;
  return b;
}

export function parseXorAddress(v: Buffer, tid: Buffer): { ip: string; port: number } {
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  const key = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), tid]);
  if (v[1] === 1) return { ip: [0, 1, 2, 3].map((i) => v[4 + i]! ^ key[i]!).join('.'), port };
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((v[4 + i]! ^ key[i]!) << 8) | (v[5 + i]! ^ key[i + 1]!)).toString(16));
  return { ip: words.join(':'), port };
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, w] of words.entries()) b.writeUInt16BE(Number.parseInt(w, 16), i * 2);
  return b;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class TurnError extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(`TURN error ${code} ${reason}`);
    this.code = code;
  }
}

export interface TurnClientOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** Per-request timeout; the request is sent up to 4 times within it. */
  timeoutMs?: number;
}

export interface Received {
  from: { ip: string; port: number };
  data: Buffer;
  via: 'data-indication' | 'channel-data';
  channel?: number;
}

export class TurnClient {
  readonly socket: Socket;
  readonly #o: TurnClientOptions;
  #realm = '';
  #nonce = '';
  readonly #pending = new Map<string, (m: StunMessage) => void>();
  readonly #received: Received[] = [];
  readonly #channels = new Map<number, { ip: string; port: number }>();
  #waiters: (() => void)[] = [];

  private constructor(o: TurnClientOptions, socket: Socket) {
    this.#o = o;
    this.socket = socket;
    socket.on('message', (buf) => this.#onMessage(buf));
    socket.on('error', () => {});
  }

  static async open(o: TurnClientOptions): Promise<TurnClient> {
    const socket = createSocket(isIP(o.host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((r) => socket.bind(0, isIP(o.host) === 6 ? '::1' : '127.0.0.1', () => r()));
    return new TurnClient(o, socket);
  }

  get received(): readonly Received[] {
    return this.#received;
  }

  #key(): Buffer {
    return createHash('md5').update(`${this.#o.username}:${this.#realm}:${this.#o.password}`).digest();
  }

  /** USERNAME, REALM and NONCE attributes and the MESSAGE-INTEGRITY key, once the challenge is done (fuzzing). */
  auth(): { attrs: Attr[]; key: Buffer } {
    return {
      attrs: [
        { type: A.USERNAME, value: Buffer.from(this.#o.username) },
        { type: A.REALM, value: Buffer.from(this.#realm) },
        { type: A.NONCE, value: Buffer.from(this.#nonce) },
      ],
      key: this.#key(),
    };
  }

  #onMessage(buf: Buffer): void {
    if (buf.length >= 4 && buf[0]! >> 6 === 1) {
      const channel = buf.readUInt16BE(0);
      const len = buf.readUInt16BE(2);
      const from = this.#channels.get(channel);
      if (from) this.#push({ from, data: Buffer.from(buf.subarray(4, 4 + len)), via: 'channel-data', channel });
      return;
    }
    const m = decodeStun(buf);
    if (!m) return;
    if (m.cls === C.INDICATION && m.method === M.DATA) {
      const peer = attr(m, A.XOR_PEER_ADDRESS);
      const data = attr(m, A.DATA);
      if (peer && data)
        this.#push({ from: parseXorAddress(peer, m.tid), data: Buffer.from(data), via: 'data-indication' });
      return;
    }
    this.#pending.get(m.tid.toString('hex'))?.(m);
  }

  #push(r: Received): void {
    this.#received.push(r);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until a received datagram matches, bounded by timeoutMs. */
  async waitForData(match: (r: Received) => boolean, timeoutMs = 3_000): Promise<Received | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.#received.find(match);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a raw datagram to the server. */
  sendRaw(buf: Buffer): Promise<void> {
    return new Promise((r) => this.socket.send(buf, this.#o.port, this.#o.host, () => r()));
  }

  /** One request/response exchange; authenticated once the realm and nonce are known. */
  async request(method: number, attrs: Attr[], opts: { authenticate?: boolean } = {}): Promise<StunMessage> {
    const auth = opts.authenticate !== false && this.#realm !== '';
    const tid = randomBytes(12);
    const all = auth
      ? [
          ...attrs,
          { type: A.USERNAME, value: Buffer.from(this.#o.username) },
          { type: A.REALM, value: Buffer.from(this.#realm) },
          { type: A.NONCE, value: Buffer.from(this.#nonce) },
        ]
      : attrs;
    const packet = encodeStun(
      { cls: C.REQUEST, method, tid, attrs: all },
      { ...(auth ? { key: this.#key() } : {}), fingerprint: true },
    );
    const timeoutMs = this.#o.timeoutMs ?? 2_000;
    const key = tid.toString('hex');
    try {
      return await new Promise<StunMessage>((resolve, reject) => {
        let sent = 0;
        const send = () => {
          if (sent++ < 4) void this.sendRaw(packet);
        };
        const every = setInterval(send, timeoutMs / 4);
        const timer = setTimeout(() => {
          clearInterval(every);
          reject(new Error(`no answer to TURN method 0x${method.toString(16)} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.#pending.set(key, (m) => {
          clearInterval(every);
          clearTimeout(timer);
          resolve(m);
        });
        send();
      });
    } finally {
      this.#pending.delete(key);
    }
  }

  /** A request that handles the 401/438 challenge and throws TurnError on an error response. */
  async call(method: number, attrs: Attr[]): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.request(method, attrs);
      if (res.cls === C.SUCCESS) return res;
      const err = attr(res, A.ERROR_CODE);
      const code = err ? err[2]! * 100 + err[3]! : 0;
      const realm = attr(res, A.REALM);
      const nonce = attr(res, A.NONCE);
      const challenge = (code === 401 && this.#realm === '') || code === 438;
      if (challenge && realm && nonce) {
        this.#realm = realm.toString();
        this.#nonce = nonce.toString();
        continue;
      }
      throw new TurnError(code, err ? err.subarray(4).toString() : 'no ERROR-CODE');
    }
    throw new TurnError(401, 'still unauthorized after the challenge');
  }

  async allocate(extra: Attr[] = []): Promise<{
    relayed: { ip: string; port: number };
    mapped?: { ip: string; port: number };
    lifetime: number;
    response: StunMessage;
  }> {
    const res = await this.call(M.ALLOCATE, [
      { type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) },
      ...extra,
    ]);
    const relayed = attr(res, A.XOR_RELAYED_ADDRESS);
    const mapped = attr(res, A.XOR_MAPPED_ADDRESS);
    if (!relayed) throw new Error('Allocate success without XOR-RELAYED-ADDRESS');
    return {
      relayed: parseXorAddress(relayed, res.tid),
      ...(mapped ? { mapped: parseXorAddress(mapped, res.tid) } : {}),
      lifetime: attr(res, A.LIFETIME)?.readUInt32BE(0) ?? 0,
      response: res,
    };
  }

  async refresh(lifetime: number): Promise<number> {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(lifetime);
    const res = await this.call(M.REFRESH, [{ type: A.LIFETIME, value: v }]);
    return attr(res, A.LIFETIME)?.readUInt32BE(0) ?? -1;
  }

  createPermission(ip: string, port = 0): Promise<StunMessage> {
    return this.#withPeer(M.CREATE_PERMISSION, ip, port, []);
  }

  async channelBind(channel: number, ip: string, port: number): Promise<StunMessage> {
    const n = Buffer.alloc(4);
    n.writeUInt16BE(channel);
    const res = await this.#withPeer(M.CHANNEL_BIND, ip, port, [{ type: A.CHANNEL_NUMBER, value: n }]);
    this.#channels.set(channel, { ip, port });
    return res;
  }

  /** Requests with an XOR-PEER-ADDRESS: the IPv6 form depends on the transaction id, so encode per try. */
  async #withPeer(method: number, ip: string, port: number, extra: Attr[]): Promise<StunMessage> {
    // IPv4 addresses are XORed with the magic cookie only; IPv6 ones with the transaction id too, so the
    // attribute is encoded for each transaction (after the 401 challenge, which allocate() has done).
    if (isIP(ip) === 4)
      return this.call(method, [{ type: A.XOR_PEER_ADDRESS, value: xorAddress(ip, port, Buffer.alloc(12)) }, ...extra]);
    for (let attempt = 0; attempt < 3; attempt++) {
      const tid = randomBytes(12);
      const res = await this.#requestWithTid(method, tid, [
        { type: A.XOR_PEER_ADDRESS, value: xorAddress(ip, port, tid) },
        ...extra,
      ]);
      if (res.cls === C.SUCCESS) return res;
      const err = attr(res, A.ERROR_CODE);
      const code = err ? err[2]! * 100 + err[3]! : 0;
      if (code === 438 && attr(res, A.NONCE)) {
        this.#nonce = attr(res, A.NONCE)!.toString();
        continue;
      }
      throw new TurnError(code, err ? err.subarray(4).toString() : 'no ERROR-CODE');
    }
    throw new TurnError(438, 'stale nonce three times');
  }

  async #requestWithTid(method: number, tid: Buffer, attrs: Attr[]): Promise<StunMessage> {
    const all = [
      ...attrs,
      { type: A.USERNAME, value: Buffer.from(this.#o.username) },
      { type: A.REALM, value: Buffer.from(this.#realm) },
      { type: A.NONCE, value: Buffer.from(this.#nonce) },
    ];
    const packet = encodeStun({ cls: C.REQUEST, method, tid, attrs: all }, { key: this.#key(), fingerprint: true });
    const key = tid.toString('hex');
    const timeoutMs = this.#o.timeoutMs ?? 2_000;
    try {
      return await new Promise<StunMessage>((resolve, reject) => {
        let sent = 0;
        const send = () => {
          if (sent++ < 4) void this.sendRaw(packet);
        };
        const every = setInterval(send, timeoutMs / 4);
        const timer = setTimeout(() => {
          clearInterval(every);
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        this.#pending.set(key, (m) => {
          clearInterval(every);
          clearTimeout(timer);
          resolve(m);
        });
        send();
      });
    } finally {
      this.#pending.delete(key);
    }
  }

  /** A Send indication carrying `data` to ip:port (relayed only with a permission for ip). */
  sendIndication(ip: string, port: number, data: Buffer): Promise<void> {
    const tid = randomBytes(12);
    return this.sendRaw(
      encodeStun({
        cls: C.INDICATION,
        method: M.SEND,
        tid,
        attrs: [
          { type: A.XOR_PEER_ADDRESS, value: xorAddress(ip, port, tid) },
          { type: A.DATA, value: data },
        ],
      }),
    );
  }

  sendChannelData(channel: number, data: Buffer): Promise<void> {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(channel, 0);
    h.writeUInt16BE(data.length, 2);
    return this.sendRaw(Buffer.concat([h, data, Buffer.alloc(pad4(data.length) - data.length)]));
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed
    }
  }
}

/** The TURN error code a request was refused with, or 0 when it succeeded (other failures are thrown). */
export async function refusedCode(fn: () => Promise<unknown>): Promise<number> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof TurnError) return err.code;
    throw err;
  }
  return 0;
}
