/**
 * Many participants joining two rooms at once: every join succeeds, each room gets exactly one router
 * on the media node (never assigned twice), and nobody is lost from either room's participant list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EDGE_RUNTIMES_WITH_CLUSTER, startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { waitFor } from '../support/poll.ts';

const PER_ROOM = 25;

for (const runtime of EDGE_RUNTIMES_WITH_CLUSTER)
  describe(`${runtime} edge`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ runtime });
    });
    after(async () => {
      await stack?.stop();
    });

    test(`${PER_ROOM * 2} clients join two new rooms concurrently`, async () => {
      const rooms = [`busy-a-${runtime}`, `busy-b-${runtime}`];
      const clients = await Promise.all(
        Array.from({ length: PER_ROOM * 2 }, async (_, i) => {
          const room = rooms[i % 2]!;
          const client = await SignalingClient.connect(stack.wsUrl(room));
          const joined = await client.join(`P${i}`);
          return { room, client, id: joined.participantId, present: joined.participants.map((p) => p.id) };
        }),
      );
      for (const room of rooms) {
        const members = clients.filter((c) => c.room === room);
        const ids = new Set(members.map((m) => m.id));
        assert.equal(ids.size, PER_ROOM, 'every participant got its own id');
        // Everyone learns about everyone else: the ones present at join plus the ones joining later.
        for (const m of members) {
          await waitFor(
            `${m.id} to know the whole room`,
            () => {
              const known = new Set<string>([m.id, ...m.present]);
              for (const d of m.client.events('participantJoined') as { participant: { id: string } }[])
                known.add(d.participant.id);
              return known.size === PER_ROOM;
            },
            10_000,
          );
        }
        // A late joiner sees exactly the room's members.
        const late = await SignalingClient.connect(stack.wsUrl(room));
        const lateJoin = await late.join('Late');
        assert.deepEqual(lateJoin.participants.map((p) => p.id).sort(), [...ids].sort());
        await late.close();
      }
      // One router per room on the media node, never two.
      const health = (await (await fetch(`${stack.controlUrl}/healthz`)).json()) as { load: { routers: number } };
      assert.equal(health.load.routers, 2);
      await Promise.all(clients.map((c) => c.client.close()));
    });
  });
