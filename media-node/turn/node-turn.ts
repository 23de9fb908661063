/**
 * node-turn (CommonJS, untyped) loaded with the few internals the embedded server drives, typed here, and
 * the one patch it needs: node-turn's attribute reader throws on every attribute it does not know (coturn's
 * turnutils_uclient always sends REQUESTED-ADDRESS-FAMILY) and cannot read EVEN-PORT (it calls a method its
 * own buffer slice does not have) or RESERVATION-TOKEN (readUIntBE of 8 bytes). The patch hands those
 * attributes over raw; stun-packet.ts has already checked their lengths. Pinned to the exact version
 * it was written against: a different node-turn refuses to start rather than run unguarded.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:dgram';

const require = createRequire(import.meta.url);
export const NODE_TURN_VERSION = '0.0.6';

export interface NtAddress {
  address: string;
  port: number;
  family: number;
  toString(): string;
}
export interface NtTransport {
  src: NtAddress;
  dst: NtAddress;
  socket: Socket;
  get5Tuple(): string;
}
export interface NtUser {
  username: string;
  password: string;
}
export interface NtMessage {
  class: number;
  method: number;
  transactionID: string;
  transport: NtTransport;
  allocation: NtAllocation | null;
  user: NtUser | null;
  attributes: { type: number; value: unknown }[];
  read(buf: Buffer): boolean;
  reply(): NtMessage;
  getAttribute(name: string): unknown;
  getAttributes(name: string): unknown[];
  addAttribute(name: string, value?: unknown): void;
  resolve(): void;
  reject(code: number, reason: string): void;
  discard(): void;
}
export interface NtAllocation {
  transactionID: string;
  fiveTuple: string;
  user: NtUser;
  sockets: Socket[];
  relayedTransportAddress: NtAddress;
  mappedAddress: NtAddress;
  lifetime: number;
  timeToExpiry: number;
  timer: NodeJS.Timeout;
  permissions: Record<string, number>;
  channelBindings: Record<string, NtAddress>;
  transport: NtTransport;
  getPeerChannelNumber(peer: NtAddress): number | undefined;
}
export interface NtServer {
  realm: string;
  software: string;
  allocations: Record<string, NtAllocation>;
  authentification: {
    credentials: Record<string, string>;
    generateNonce(): string;
    checkNonce(nonce: string): boolean;
    /** Long-term authentication of a request; cb(err) after it has answered an error itself. */
    auth(msg: NtMessage, cb: (err: Error | null, reply?: NtMessage) => void): void;
  };
  createPermission: { createPermission(msg: NtMessage, reply: NtMessage): void };
  channelBind: { channelBind(msg: NtMessage, reply: NtMessage): void };
  send: { send(msg: NtMessage, reply: NtMessage): void };
  on(event: string, fn: (msg: NtMessage, reply: NtMessage) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
  removeAllListeners(event: string): void;
}

interface NodeTurnModules {
  Server: new (config: Record<string, unknown>) => NtServer;
  Message: new (server: NtServer, transport: NtTransport) => NtMessage;
  Transport: new (protocol: number, src: NtAddress, dst: NtAddress, socket: Socket) => NtTransport;
  Address: new (address: string, port: number) => NtAddress;
  Allocation: new (msg: NtMessage, sockets: Socket[], lifetime: number) => NtAllocation;
  UDP: number;
}

/** Attribute types node-turn's own reader may parse (after stun-packet.ts checked them). */
const NATIVE = new Set([
  0x0006, 0x0008, 0x000c, 0x000d, 0x0012, 0x0013, 0x0014, 0x0015, 0x0019, 0x001a, 0x8022, 0x8028,
]);
const EVEN_PORT = 0x0018;

let loaded: NodeTurnModules | undefined;

export function nodeTurn(): NodeTurnModules {
  if (loaded) return loaded;
  const version = (require('node-turn/package.json') as { version: string }).version;
  if (version !== NODE_TURN_VERSION) {
    throw new Error(
      `node-turn ${version} is installed, but the embedded TURN guards were written for ${NODE_TURN_VERSION}; install that version or use TREFFPUNKT_TURN_MODE=coturn`,
    );
  }
  const Attribute = require('node-turn/lib/attribute.js') as {
    prototype: { read(this: RawAttribute, data: Buffer): void };
  };
  const nativeRead = Attribute.prototype.read;
  Attribute.prototype.read = function read(this: RawAttribute, data: Buffer) {
    const type = data.readUInt16BE(0);
    if (NATIVE.has(type)) return nativeRead.call(this, data);
    this.type = type;
    this.length = data.readUInt16BE(2);
    this.padding = (4 - (this.length % 4)) % 4;
    this.name = `attribute-0x${type.toString(16)}`;
    // EVEN-PORT: the R bit (reserve the next port too); every other attribute: its raw value.
    this.value = type === EVEN_PORT ? (data[4]! & 0x80) !== 0 : Buffer.from(data.subarray(4, 4 + this.length));
  };
  loaded = {
    Server: require('node-turn'),
    Message: require('node-turn/lib/message.js'),
    Transport: require('node-turn/lib/transport.js'),
    Address: require('node-turn/lib/address.js'),
    Allocation: require('node-turn/lib/allocation.js'),
    UDP: (require('node-turn/lib/constants.js') as { TRANSPORT: { PROTOCOL: { UDP: number } } }).TRANSPORT.PROTOCOL.UDP,
  };
  return loaded;
}

interface RawAttribute {
  type: number;
  length: number;
  padding: number;
  name: string;
  value: unknown;
}

/** The raw value of an attribute node-turn does not parse itself (see the patch above). */
export function rawAttribute(msg: NtMessage, type: number): unknown {
  return msg.attributes.find((a) => a.type === type)?.value;
}
