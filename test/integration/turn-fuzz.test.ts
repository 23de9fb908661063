/**
 * Fuzzing the embedded TURN server of a real media node process over loopback UDP: at least 100,000
 * random and mutated STUN/TURN packets (bit flips, truncations, bad lengths, spliced and structure-aware
 * random attributes, ChannelData), sent from a fresh 5-tuple and from one that holds an allocation.
 * Afterwards the process is alive, an allocation made before the fuzzing still relays and a new one works.
 *
 * Network safety: every packet goes to the node's TURN port on 127.0.0.1. The server relays only to peers
 * with a permission, and permissions come only from requests carrying a valid MESSAGE-INTEGRITY; the only
 * such requests here name the loopback echo peer (a mutation breaks the HMAC), and private ranges are
 * refused by the policy in any case.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mintTurnCredentials } from '../../edge/core/turn-credentials.ts';
import { A, C, M, encodeStun, xorAddress, TurnClient, type Attr } from '../support/turn-client.ts';
import { startTurnNode, type TurnNode } from '../support/turn-node.ts';

const PACKETS = 100_000;
const DEADLINE_MS = 120_000;

let node: TurnNode;
let peer: Socket;
let peerPort: number;

before(async () => {
  node = await startTurnNode({ mode: 'embedded', allowLoopbackPeers: true });
  peer = createSocket('udp4');
  peer.on('message', (m, r) => peer.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  peerPort = peer.address().port;
});
after(async () => {
  peer?.close();
  await node?.stop();
});

async function turnClient(participant: string): Promise<TurnClient> {
  const ice = await mintTurnCredentials({
    secret: node.turn.secret,
    identity: participant,
    ttlSeconds: 600,
    now: Date.now(),
    urls: node.turn.urls,
  });
  return TurnClient.open({ host: '127.0.0.1', port: node.turnPort, username: ice.username, password: ice.credential });
}

async function echoes(c: TurnClient, text: string): Promise<boolean> {
  await c.sendChannelData(0x4001, Buffer.from(text));
  return (await c.waitForData((r) => r.data.toString() === `echo:${text}`, 3_000)) !== undefined;
}

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)]!;
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** Well-formed packets of every kind a client sends; the authenticated ones only name the loopback peer. */
function templates(auth: { attrs: Attr[]; key: Buffer }): Buffer[] {
  const tid = () => randomBytes(12);
  const peerAttr = (t: Buffer) => ({ type: A.XOR_PEER_ADDRESS, value: xorAddress('127.0.0.1', peerPort, t) });
  const signed = (method: number, attrs: Attr[]) => {
    const t = tid();
    return encodeStun(
      {
        cls: C.REQUEST,
        method,
        tid: t,
        attrs: [...attrs.map((a) => (a.type === A.XOR_PEER_ADDRESS ? peerAttr(t) : a)), ...auth.attrs],
      },
      { key: auth.key, fingerprint: true },
    );
  };
  const channel = Buffer.alloc(4);
  channel.writeUInt16BE(0x4001);
  const chanData = Buffer.concat([Buffer.from([0x40, 0x01, 0x00, 0x05]), Buffer.from('hello'), Buffer.alloc(3)]);
  const sendTid = tid();
  return [
    encodeStun({ cls: C.REQUEST, method: M.BINDING, tid: tid(), attrs: [] }),
    encodeStun(
      { cls: C.REQUEST, method: M.BINDING, tid: tid(), attrs: [{ type: A.SOFTWARE, value: Buffer.from('fuzz') }] },
      { fingerprint: true },
    ),
    encodeStun({
      cls: C.REQUEST,
      method: M.ALLOCATE,
      tid: tid(),
      attrs: [{ type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) }],
    }),
    signed(M.ALLOCATE, [
      { type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) },
      { type: A.LIFETIME, value: u32(600) },
    ]),
    signed(M.ALLOCATE, [
      { type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) },
      { type: A.EVEN_PORT, value: Buffer.from([0x80]) },
      { type: A.REQUESTED_ADDRESS_FAMILY, value: Buffer.from([1, 0, 0, 0]) },
    ]),
    signed(M.ALLOCATE, [
      { type: A.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) },
      { type: A.RESERVATION_TOKEN, value: randomBytes(8) },
    ]),
    signed(M.REFRESH, [{ type: A.LIFETIME, value: u32(600) }]),
    signed(M.CREATE_PERMISSION, [peerAttr(Buffer.alloc(12))]),
    signed(M.CHANNEL_BIND, [{ type: A.CHANNEL_NUMBER, value: channel }, peerAttr(Buffer.alloc(12))]),
    encodeStun({
      cls: C.INDICATION,
      method: M.SEND,
      tid: sendTid,
      attrs: [peerAttr(sendTid), { type: A.DATA, value: Buffer.from('fuzz-data') }],
    }),
    encodeStun({
      cls: C.REQUEST,
      method: M.ALLOCATE,
      tid: tid(),
      attrs: [
        { type: 0x0024, value: u32(1) },
        { type: 0x802a, value: randomBytes(8) },
      ],
    }),
    chanData,
  ];
}

function structured(): Buffer {
  const types = [
    ...Object.values(A),
    0x0001,
    0x0009,
    0x000a,
    0x0016,
    0x0020,
    0x0024,
    0x8023,
    0xc057,
    randomInt(0x10000),
  ];
  const attrs: Attr[] = [];
  for (let i = randomInt(8); i > 0; i--) {
    const type = pick(types);
    const len = pick([0, 1, 2, 4, 6, 8, 12, 20, 24, randomInt(300)]);
    attrs.push({ type, value: randomBytes(len) });
  }
  return encodeStun(
    { cls: randomInt(4), method: pick([...Object.values(M), randomInt(0x1000)]), tid: randomBytes(12), attrs },
    { fingerprint: randomInt(2) === 0 },
  );
}

function mutate(t: readonly Buffer[]): Buffer {
  const base = Buffer.from(pick(t));
  switch (randomInt(9)) {
    case 0:
      return randomBytes(randomInt(600));
    case 1: {
      for (let i = randomInt(1, 9); i > 0; i--) base[randomInt(base.length)]! ^= 1 << randomInt(8);
      return base;
    }
    case 2:
      return base.subarray(0, randomInt(base.length));
    case 3:
      return Buffer.concat([base, randomBytes(randomInt(1, 64))]);
    case 4:
      if (base.length >= 4) base.writeUInt16BE(randomInt(0x10000), 2);
      return base;
    case 5: {
      if (base.length >= 22) base.writeUInt16BE(randomInt(0x10000), 20 + 2 * randomInt((base.length - 20) >> 1));
      return base;
    }
    case 6:
      return Buffer.concat([pick(t).subarray(0, 20), pick(t).subarray(20)]);
    case 7:
      return structured();
    default: {
      const len = randomInt(200);
      const h = Buffer.alloc(4);
      h.writeUInt16BE(0x4000 + randomInt(0x4000), 0);
      h.writeUInt16BE(randomInt(2) ? len : randomInt(0x10000), 2);
      return Buffer.concat([h, randomBytes(len)]);
    }
  }
}

test(`the embedded TURN survives ${PACKETS.toLocaleString('en')} random and mutated packets`, {
  timeout: DEADLINE_MS + 30_000,
}, async () => {
  const early = await turnClient('before');
  const holder = await turnClient('holder');
  const fresh = createSocket('udp4');
  await new Promise<void>((r) => fresh.bind(0, '127.0.0.1', () => r()));
  try {
    await early.allocate();
    await early.createPermission('127.0.0.1', peerPort);
    await early.channelBind(0x4001, '127.0.0.1', peerPort);
    assert.ok(await echoes(early, 'ping-before'), 'relay works before the fuzzing');
    await holder.allocate();
    const t = templates(holder.auth());

    let sent = 0;
    let sendErrors = 0;
    let synced = 0;
    const started = Date.now();
    while (sent < PACKETS) {
      assert.ok(Date.now() - started < DEADLINE_MS, `fuzzing took longer than ${DEADLINE_MS} ms`);
      assert.ok(node.alive(), `the media node died after ${sent} packets:\n${node.output().slice(-3000)}`);
      const batch: Promise<void>[] = [];
      for (let i = 0; i < 250; i++) {
        const packet = mutate(t);
        const socket = i % 2 ? holder.socket : fresh;
        batch.push(
          new Promise((r) =>
            socket.send(packet, node.turnPort, '127.0.0.1', (err) => {
              if (err) sendErrors++;
              r();
            }),
          ),
        );
      }
      await Promise.all(batch);
      sent += batch.length;
      // One Binding round trip per batch: its answer comes after the server has read everything sent
      // before it, so the packets are processed rather than dropped by a full socket buffer.
      const sync = await early.request(M.BINDING, [], { authenticate: false }).catch(() => undefined);
      if (sync?.cls === C.SUCCESS) synced++;
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `fuzz: ${sent} packets in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), ${sendErrors} send errors, ${synced}/${sent / 250} batches confirmed by a Binding answer`,
    );
    assert.ok(synced >= (sent / 250) * 0.9, 'the server kept answering during the fuzzing');
    assert.ok(sent - sendErrors >= PACKETS, `${sent - sendErrors} packets sent`);

    assert.ok(node.alive(), 'the media node process is alive');
    const health = await fetch(`${node.controlUrl}/healthz`);
    assert.equal(health.status, 200, 'the control API answers');
    const binding = await early.request(M.BINDING, [], { authenticate: false });
    assert.equal(binding.cls, C.SUCCESS, 'STUN Binding still answered');
    assert.ok(await echoes(early, 'ping-after'), 'the allocation made before the fuzzing still relays');
    const late = await turnClient('after');
    try {
      await late.allocate();
      await late.createPermission('127.0.0.1', peerPort);
      await late.channelBind(0x4001, '127.0.0.1', peerPort);
      assert.ok(await echoes(late, 'ping-new'), 'a new allocation relays');
    } finally {
      late.close();
    }
    assert.doesNotMatch(node.output(), /uncaught|unhandled|FATAL/i);
  } finally {
    early.close();
    holder.close();
    fresh.close();
  }
});
