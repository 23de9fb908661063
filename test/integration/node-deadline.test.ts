/**
 * A slow or hostile media node cannot freeze a room: every control call has one deadline, from the
 * request to the last byte of the answer. The node here is a fake control API that sends its headers at
 * once and then one body byte every 10 s, forever. Before, the edge's timer stopped at the headers and the
 * body read hung: a newcomer's join placed on that node held the room's queue, and a chat message of a
 * participant already in the room waited behind it indefinitely.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { EDGE_RUNTIMES, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';
import { idleLoad, nodePost, registration } from '../support/node-api.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';

/** The edge's per-call deadline (edge/core/media-node-client.ts). */
const DEADLINE_MS = 5_000;

/** Answers every request with 200 and headers at once, then a body byte every 10 s that never ends. */
async function startDribbler(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  const open = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const entry = { res, timer: setInterval(() => res.write(' '), 10_000) };
    open.add(entry);
    res.on('close', () => {
      clearInterval(entry.timer);
      open.delete(entry);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      for (const e of open) clearInterval(e.timer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

for (const runtime of EDGE_RUNTIMES)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    let slow: Awaited<ReturnType<typeof startDribbler>>;
    const slowSecret = randomBytes(24).toString('hex');
    before(async () => {
      slow = await startDribbler();
      stack = await startStack({ runtime, extraNodes: [{ nodeId: 'slow-node', secret: slowSecret }] });
    });
    after(async () => {
      await stack?.stop();
      await slow?.close();
    });

    // Busy on paper, so that only a participant asking for its region lands there (not Alice).
    const busy = { ...idleLoad, transports: 1_000 };
    const registerSlow = async () => {
      const reply = await nodePost(
        stack.edgeUrl,
        'slow-node',
        slowSecret,
        '/api/nodes/register',
        registration('slow-node', slow.url, { region: 'slow', load: busy }),
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    const heartbeatSlow = () =>
      nodePost(stack.edgeUrl, 'slow-node', slowSecret, '/api/nodes/slow-node/heartbeat', { load: busy });

    /**
     * Alice is in `room` on the real node; Bob joins with the region of the slow node, so that his join
     * calls it. Returns how long Alice's chat message, sent while Bob's join waits for the node, took to be
     * answered.
     */
    async function chatDelayBehindSlowJoin(
      room: string,
    ): Promise<{ chatMs: number; bob: SignalingClient; bobJoinId: number }> {
      const alice = await SignalingClient.connect(stack.wsUrl(room));
      await alice.join('Alice');
      const bob = await SignalingClient.connect(stack.wsUrl(room));
      const before = slow.requests();
      const bobJoinId = 1;
      bob.ws.send(
        JSON.stringify({
          id: bobJoinId,
          method: 'join',
          params: { protocolVersion: PROTOCOL_VERSION, name: 'Bob', region: 'slow' },
        }),
      );
      // The room is busy with Bob's join once the slow node has the edge's call.
      await waitFor('the edge to call the slow node', () => slow.requests() > before);
      const started = Date.now();
      // No answer within the client's 10 s: Infinity (the old code never answered at all).
      const chatMs = await alice.request('chat', { text: 'hello' }).then(
        () => Date.now() - started,
        () => Infinity,
      );
      await alice.close();
      console.log(`${runtime} edge, ${room}: the chat message was answered after ${chatMs} ms`);
      return { chatMs, bob, bobJoinId };
    }

    test('a node that dribbles its answer holds the room at most one deadline', async () => {
      await registerSlow();
      // Keep the slow node "up": only the deadline may end its call, not failover.
      const beat = setInterval(() => void heartbeatSlow(), 400);
      try {
        const { chatMs, bob, bobJoinId } = await chatDelayBehindSlowJoin('deadline-room');
        assert.ok(
          chatMs < 2 * DEADLINE_MS,
          `the chat message waited ${chatMs} ms behind a join on a dribbling node (deadline ${DEADLINE_MS} ms)`,
        );
        const reply = (await waitFor("Bob's join to fail", () =>
          bob.frames.find((f) => 'id' in f && f.id === bobJoinId),
        )) as { ok: boolean; error?: { code: string } };
        assert.equal(reply.ok, false);
        assert.equal(reply.error?.code, 'MEDIA_NODE_ERROR');
        await bob.close();
      } finally {
        clearInterval(beat);
      }
    });
  });
