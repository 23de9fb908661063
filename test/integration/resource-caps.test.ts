/**
 * Issue 10, resource caps and names people can trust, on both edge runtimes with small limits set:
 * open sockets per address (IPv6 per /64), transports and consumers per participant (one consumer per
 * producer), lobby size and a coalesced lobby list, sockets that never join, a join that failed leaving
 * the socket free to try again, names that are cleaned and marked verified, and a move to another media
 * node starting the transport count afresh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentToken } from '../support/join-token.ts';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';
import { request } from 'node:http';
import type { RtpCapabilities } from '../../shared/media-types.ts';

const SECRET = 'test-deployment-join-token-secret-0123456789';
const token = (room: string, name: string, role: string, extra: Record<string, unknown> = {}) =>
  deploymentToken(SECRET, { room, name, role, ...extra });

const SOCKETS = 10;
const LOBBY = 5;

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({
        runtime,
        edgeEnv: {
          TREFFPUNKT_JOIN_TOKEN_SECRET: SECRET,
          TREFFPUNKT_GUEST_POLICY: 'lobby',
          TREFFPUNKT_SOCKETS_PER_ADDRESS: String(SOCKETS),
          TREFFPUNKT_MAX_TRANSPORTS: '3',
          TREFFPUNKT_MAX_CONSUMERS: '2',
          TREFFPUNKT_LOBBY_CAPACITY: String(LOBBY),
          TREFFPUNKT_JOIN_TIMEOUT_MS: '3000',
        },
      });
    });
    after(async () => {
      await stack?.stop();
    });

    const connect = (room: string) => SignalingClient.connect(stack.wsUrl(room));
    const joinWith = async (room: string, name: string, role = 'participant') => {
      const c = await connect(room);
      return { c, j: await c.request('join', { protocolVersion: 1, token: await token(room, name, role) }) };
    };
    /** A raw upgrade request: its HTTP status (101 when accepted; the socket is dropped at once) and body. */
    const upgrade = (room: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${stack.edgeUrl}/rooms/${room}/ws`, {
          headers: {
            upgrade: 'websocket',
            connection: 'Upgrade',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          },
        });
        req.on('upgrade', (_res, socket) => {
          socket.destroy();
          resolve({ status: 101, body: '' });
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (d) => (body += String(d)));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });

    // First: the other tests' sockets would count against the same address.
    test('open sockets per address are capped (429 RATE_LIMITED), and freed when they close', async () => {
      const room = 'caps-sockets';
      // Joined, so that the join timeout does not close them meanwhile.
      const open = await Promise.all(Array.from({ length: SOCKETS }, () => connect(room)));
      await Promise.all(
        open.map(async (c, i) =>
          c.request('join', { protocolVersion: 1, token: await token(room, `S${i}`, 'participant') }),
        ),
      );
      await assert.rejects(connect(room), 'one more socket than allowed is refused');
      const res = await upgrade(room);
      assert.equal(res.status, 429);
      // Node's upgrade path (node-ws) sends the status line alone; the Worker sends the body too.
      if (res.body) assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'RATE_LIMITED');
      await open.pop()!.close();
      // The edge sees the close a moment later; then there is room for one again.
      await waitFor('a freed socket slot', async () => (await upgrade(room)).status === 101, 10_000, 100);
      await Promise.all(open.map((c) => c.close()));
      await waitFor(
        'all slots free',
        async () => {
          const probe = await Promise.all(Array.from({ length: SOCKETS }, () => connect(room).catch(() => undefined)));
          await Promise.all(probe.map((c) => c?.close()));
          return probe.every(Boolean);
        },
        10_000,
        200,
      );
      // The edge logs before it replies, but its stdout may reach this process after the reply.
      await waitFor(
        'the refusal in the edge log',
        () => /too many open sockets from one address/.test(stack.output()),
        5_000,
      );
      assert.match(stack.output(), /too many open sockets from one address/);
      assert.doesNotMatch(
        stack.output(),
        /127\.0\.0\.1.*too many open sockets|too many open sockets.*127\.0\.0\.1/,
        'the address is logged as a pseudonym',
      );
    });

    if (runtime === 'workerd') {
      // Miniflare takes the client's address from CF-Connecting-IP when one is sent, as Cloudflare's edge sets it.
      test('IPv6 addresses count per /64', async () => {
        const room = 'caps-v6';
        const from = (ip: string) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(stack.wsUrl(room), { headers: { 'cf-connecting-ip': ip } } as unknown as string[]);
            ws.addEventListener('open', () => resolve(ws), { once: true });
            ws.addEventListener('error', () => reject(new Error('refused')), { once: true });
          });
        const open = await Promise.all(
          Array.from({ length: SOCKETS }, (_, i) => from(`2001:db8:1:2::${(i + 1).toString(16)}`)),
        );
        await assert.rejects(from('2001:db8:1:2:ffff::1'), 'another address of the same /64 is refused');
        const other = await from('2001:db8:1:3::1');
        for (const ws of [...open, other]) ws.close();
      });
    }

    test('transports per participant are capped (LIMIT_EXCEEDED)', async () => {
      const { c } = await joinWith('caps-transports', 'T');
      for (const direction of ['send', 'recv', 'recv'] as const) await c.request('createTransport', { direction });
      const fourth = await c.call('createTransport', { direction: 'send' });
      assert.equal(!fourth.ok && fourth.error.code, 'LIMIT_EXCEEDED');
      // The edge logs before it replies, but its stdout may reach this process after the reply.
      await waitFor(
        'the refusal in the edge log',
        () => /security: limit reached, request refused/.test(stack.output()),
        5_000,
      );
      assert.match(stack.output(), /security: limit reached, request refused/);
      await c.close();
    });

    test('one consumer per producer (a repeat replaces it), consumers capped, closed producers do not count', async () => {
      const room = 'caps-consumers';
      const { c: pub, j: pj } = await joinWith(room, 'Pub');
      const opus = pj.routerRtpCapabilities.codecs?.find((x) => x.mimeType === 'audio/opus');
      const send = await pub.request('createTransport', { direction: 'send' });
      const produce = async (ssrc: number) =>
        (
          await pub.request('produce', {
            transportId: send.id,
            kind: 'audio',
            source: 'microphone',
            rtpParameters: {
              codecs: [
                { mimeType: 'audio/opus', payloadType: opus!.preferredPayloadType!, clockRate: 48000, channels: 2 },
              ],
              encodings: [{ ssrc }],
            },
          })
        ).producerId;
      const [p1, p2, p3] = [await produce(1111), await produce(2222), await produce(3333)];
      const { c: sub, j: sj } = await joinWith(room, 'Sub');
      const recv = await sub.request('createTransport', { direction: 'recv' });
      const consume = (producerId: string) =>
        sub.call('consume', {
          transportId: recv.id,
          producerId,
          rtpCapabilities: sj.routerRtpCapabilities as RtpCapabilities,
        });
      const nodeConsumers = async () =>
        ((await (await fetch(`${stack.controlUrl}/healthz`)).json()) as { load: { consumers: number } }).load.consumers;

      const first = await consume(p1!);
      assert.ok(first.ok);
      const again = await consume(p1!);
      assert.ok(again.ok, 'a repeat is answered');
      assert.notEqual(again.result.consumerId, first.result.consumerId);
      // The first is gone: on the node, for the edge, and the client is told.
      await sub.waitForEvent<{ consumerId: string }>('consumerClosed', (d) => d.consumerId === first.result.consumerId);
      assert.equal(await nodeConsumers(), 1, 'one consumer of that producer on the node');
      const old = await sub.call('resumeConsumer', { consumerId: first.result.consumerId });
      assert.equal(!old.ok && old.error.code, 'NOT_FOUND');

      assert.ok((await consume(p2!)).ok);
      const third = await consume(p3!);
      assert.equal(!third.ok && third.error.code, 'LIMIT_EXCEEDED');
      // A producer that closes takes its consumers with it: they no longer count.
      await pub.request('closeProducer', { producerId: p1! });
      await waitFor('p3 to be consumable', async () => (await consume(p3!)).ok, 5_000, 100);
      await Promise.all([pub.close(), sub.close()]);
    });

    test('the lobby is capped (LOBBY_FULL) and moderators get the list coalesced, not once per arrival', async () => {
      const room = 'caps-lobby';
      const { c: mod } = await joinWith(room, 'Moderator', 'moderator');
      const guests = await Promise.all(Array.from({ length: LOBBY }, () => connect(room)));
      const replies = await Promise.all(
        guests.map((g, i) => g.call('join', { protocolVersion: 1, name: `Guest ${i}` })),
      );
      assert.ok(replies.every((r) => !r.ok && r.error.code === 'WAITING_IN_LOBBY'));
      await mod.waitForEvent<{ waiting: unknown[] }>('lobbyChanged', (d) => d.waiting.length === LOBBY);
      const frames = mod.events('lobbyChanged').length;
      assert.ok(frames <= 3, `${frames} lobbyChanged frames for ${LOBBY} arrivals`);
      const late = await connect(room);
      const full = await late.call('join', { protocolVersion: 1, name: 'Late' });
      assert.equal(!full.ok && full.error.code, 'LOBBY_FULL');
      // The edge logs before it replies, but its stdout may reach this process after the reply.
      await waitFor('the refusal in the edge log', () => /security: lobby full/.test(stack.output()), 5_000);
      assert.match(stack.output(), /security: lobby full/);
      // One leaves: there is room for one again.
      await guests.pop()!.close();
      await mod.waitForEvent<{ waiting: unknown[] }>('lobbyChanged', (d) => d.waiting.length === LOBBY - 1);
      const again = await late.call('join', { protocolVersion: 1, name: 'Late' });
      assert.equal(!again.ok && again.error.code, 'WAITING_IN_LOBBY');
      await Promise.all([mod, late, ...guests].map((c) => c.close()));
    });

    test('a socket that does not join in time is closed (4009); lobby waiters and participants stay', async () => {
      const room = 'caps-idle';
      const { c: mod } = await joinWith(room, 'Moderator', 'moderator');
      const idle = await connect(room);
      const waiting = await connect(room);
      const w = await waiting.call('join', { protocolVersion: 1, name: 'Waiting Guest' });
      assert.equal(!w.ok && w.error.code, 'WAITING_IN_LOBBY');
      // The close frame arrives at once on both runtimes; under Miniflare, a close sent from a Durable
      // Object alarm leaves the TCP connection open for a while (a close sent while handling a message
      // does not), so the client may see only CLOSING (close frame received and answered) at first.
      // On Node the close event itself comes (CLOSING alone, seen on a loaded machine, is not enough to read
      // the code yet).
      await waitFor(
        'the idle socket to be closed',
        () => idle.closeCode !== undefined || (runtime !== 'node' && idle.ws.readyState === WebSocket.CLOSING),
        10_000,
      );
      if (idle.closeCode !== undefined || runtime === 'node') assert.equal(idle.closeCode, 4009);
      assert.equal(waiting.ws.readyState, WebSocket.OPEN, 'waiting in the lobby counts as joined');
      assert.equal(mod.closeCode, undefined);
      await mod.request('ping', {});
      assert.match(stack.output(), /security: closing a socket that did not join in time/);
      await Promise.all([mod.close(), waiting.close()]);
    });

    test('a join that fails (no media node may carry the room) can be retried on the same socket', async () => {
      const room = 'caps-retry';
      const c = await connect(room);
      const t = await token(room, 'Retry', 'participant', { media: { operators: ['nobody-runs-this'] } });
      const first = await c.call('join', { protocolVersion: 1, token: t });
      assert.equal(!first.ok && first.error.code, 'CONSTRAINT_UNMET');
      const second = await c.call('join', { protocolVersion: 1, token: t });
      assert.equal(!second.ok && second.error.code, 'CONSTRAINT_UNMET', 'the same error, not ALREADY_JOINED');
      const other = await c.call('ping', {});
      assert.ok(other.ok);
      await c.close();
    });

    test('names are cleaned; participant info says whether a name is verified; guests cannot take a verified name', async () => {
      const room = 'caps-names';
      const { c: mod, j: mj } = await joinWith(room, 'Frau Dr. Schmidt', 'moderator');
      // A guest typing the moderator's name (other case, fullwidth, with an invisible character) is refused.
      for (const name of ['frau dr. schmidt', 'Frau Dr.\u200B Schmidt', 'ＦＲＡＵ ＤＲ. ＳＣＨＭＩＤＴ']) {
        const g = await connect(room);
        const r = await g.call('join', { protocolVersion: 1, name });
        assert.equal(!r.ok && r.error.code, 'NAME_TAKEN', name);
        await g.close();
      }
      const invisible = await connect(room);
      const empty = await invisible.call('join', { protocolVersion: 1, name: '\u3164\u200B' });
      assert.equal(!empty.ok && empty.error.code, 'BAD_MESSAGE');
      await invisible.close();
      // The override is stripped: everyone reads what is stored.
      const guest = await connect(room);
      const g = await guest.call('join', { protocolVersion: 1, name: 'pay to \u202Egnp.exe' });
      assert.equal(!g.ok && g.error.code, 'WAITING_IN_LOBBY');
      const lobby = await mod.waitForEvent<{ waiting: { id: string; name: string; verified: boolean }[] }>(
        'lobbyChanged',
        (d) => d.waiting.length === 1,
      );
      assert.deepEqual(
        lobby.waiting.map((e) => [e.name, e.verified]),
        [['pay to gnp.exe', false]],
      );
      await mod.request('admit', { participantId: lobby.waiting[0]!.id });
      const admitted = await guest.waitForEvent<{ participants: { id: string; name: string; verified: boolean }[] }>(
        'admitted',
      );
      assert.deepEqual(
        admitted.participants.map((p) => [p.id, p.verified]),
        [[mj.participantId, true]],
      );
      const seen = await mod.waitForEvent<{ participant: { name: string; verified: boolean } }>('participantJoined');
      assert.deepEqual([seen.participant.name, seen.participant.verified], ['pay to gnp.exe', false]);
      // Chat text: bidi controls stripped, line breaks kept.
      await guest.request('chat', { text: 'see \u202Etxt.exe\nthanks' });
      const chat = await mod.waitForEvent<{ text: string }>('chat');
      assert.equal(chat.text, 'see txt.exe\nthanks');
      await Promise.all([mod.close(), guest.close()]);
    });
  });

// Transports left behind on a node the room moved away from are gone: they must not count.
for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge, two media nodes`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({
        runtime,
        nodes: [{ nodeId: 'cap-a' }, { nodeId: 'cap-b' }],
        edgeEnv: { TREFFPUNKT_MAX_TRANSPORTS: '2', TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '2000' },
        mediaNodeEnv: { TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS: '20000' },
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test('after a move to another node the transport limit starts afresh', async () => {
      const c = await SignalingClient.connect(stack.wsUrl('caps-move'));
      await c.join('Mover');
      await c.request('createTransport', { direction: 'send' });
      await c.request('createTransport', { direction: 'recv' });
      const third = await c.call('createTransport', { direction: 'send' });
      assert.equal(!third.ok && third.error.code, 'LIMIT_EXCEEDED');
      const transportsOn = async (n: { controlUrl: string }) =>
        ((await (await fetch(`${n.controlUrl}/healthz`)).json()) as { load: { transports: number } }).load.transports;
      const counts = await Promise.all(stack.mediaNodes.map(transportsOn));
      const from = stack.mediaNodes[counts.indexOf(2)]!;
      from.process.kill('SIGTERM');
      await c.waitForEvent('mediaMoved', () => true, 10_000);
      await c.request('createTransport', { direction: 'send' });
      await c.request('createTransport', { direction: 'recv' });
      await c.close();
    });
  });
