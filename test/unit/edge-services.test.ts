/**
 * The edge's wiring (edge/core/services.ts) and the Node room host: each setting reaches the rooms from
 * one place, and a socket is a whole Connection from the moment the room sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEdgeConfig } from '../../edge/core/config.ts';
import { InMemoryNodeRegistry } from '../../edge/core/node-registry.ts';
import { noMetrics } from '../../edge/core/metrics.ts';
import { createEdgeServices } from '../../edge/core/services.ts';
import { noWebhooks } from '../../edge/core/webhooks/queue.ts';
import { InProcessRoomHost, InProcessRooms } from '../../edge/node/room-host.ts';
import type { Logger } from '../../shared/logger.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const env = {
  TREFFPUNKT_NODE_SECRETS: 'node-a=0123456789abcdef',
  TREFFPUNKT_MAX_MESSAGE_BYTES: '2048',
  TREFFPUNKT_ROOM_CAPACITY: '7',
  TREFFPUNKT_MAX_PRODUCERS: '3',
  TREFFPUNKT_MAX_TRANSPORTS: '5',
  TREFFPUNKT_MAX_CONSUMERS: '11',
  TREFFPUNKT_LOBBY_CAPACITY: '4',
  TREFFPUNKT_JOIN_TIMEOUT_MS: '4000',
  TREFFPUNKT_HANDOVER_DEADLINE_MS: '7000',
  TREFFPUNKT_RESUME_GRACE_MS: '9000',
  TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '6000',
  TREFFPUNKT_REMOVAL_BAR_SECONDS: '30',
  TREFFPUNKT_GUEST_POLICY: 'deny',
  TREFFPUNKT_MEDIA_OPERATORS: 'op-a',
  TREFFPUNKT_MESSAGES_PER_SECOND: '2',
};

test('createEdgeServices: every room setting comes from the config', () => {
  const config = parseEdgeConfig(env);
  const { room, messageBudget } = createEdgeServices(
    config,
    new InMemoryNodeRegistry(config.nodeHeartbeatTimeoutMs),
    silent,
  );
  const { nodes, access, log, metrics, webhooks, ...limits } = room;
  assert.deepEqual(limits, {
    maxMessageBytes: 2048,
    capacity: 7,
    maxProducers: 3,
    maxTransports: 5,
    maxConsumers: 11,
    lobbyCapacity: 4,
    joinTimeoutMs: 4000,
    resumeGraceMs: 9000,
    mediaConstraint: { operators: ['op-a'] },
    nodeCheckIntervalMs: 2000,
    handoverDeadlineMs: 7000,
  });
  assert.equal(log, silent);
  assert.equal(metrics, noMetrics, 'nothing counted unless a runtime passes its metrics');
  assert.equal(webhooks, noWebhooks);
  assert.equal(access.guestPolicy, 'deny');
  assert.equal(access.removalBarMs, 30_000);
  assert.equal(nodes.turnCredentialTtlSeconds, config.turnCredentialTtlSeconds);
  // 2 per second, bursts of twice that: a fresh budget per socket.
  const budget = messageBudget();
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => budget.take()),
    [true, true, true, true, false],
  );
  assert.equal(messageBudget().take(), true);
});

test('InProcessRooms: a socket is a whole Connection when the room first sees it; empty rooms are forgotten', async () => {
  const config = parseEdgeConfig(env);
  const rooms = new InProcessRooms(
    createEdgeServices(config, new InMemoryNodeRegistry(config.nodeHeartbeatTimeoutMs), silent),
  );
  const sent: string[] = [];
  const closed: number[] = [];
  const { room, conn } = rooms.open(
    'room-1',
    { send: (d) => sent.push(d), close: (code) => closed.push(code) },
    'addr',
  );
  assert.equal(rooms.size, 1);
  assert.equal(rooms.socketsFrom('addr'), 1);
  await room.onMessage(conn, JSON.stringify({ id: 1, method: 'ping', params: {} }));
  assert.equal(JSON.parse(sent[0]!).id, 1);
  await rooms.close('room-1', conn);
  assert.equal(rooms.socketsFrom('addr'), 0);
  assert.equal(rooms.size, 0);
});

test('InProcessRoomHost: one timer, an earlier sweep replaces a later one', async () => {
  let swept = 0;
  const host = new InProcessRoomHost(() => swept++);
  host.scheduleSweep(Date.now() + 60_000);
  host.scheduleSweep(Date.now() + 10);
  host.scheduleSweep(Date.now() + 30_000);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(swept, 1);
});
