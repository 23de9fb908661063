/**
 * The events a room owned by this edge sends while a change is under way wait for that change's save
 * (edge cluster, docs/edge-cluster.md "A request in flight when the owner steps down"). So nothing a
 * request did is seen before its change is in the room's snapshot: if the owner steps down before the
 * save landed, those events are never sent (the fence drops them), the next owner applies the request
 * again and sends them then, and nobody sees a chat line or a new producer twice.
 *
 * The room opens a change in Room.#mutate (RoomStore.changing) and ends it with its save; events and
 * socket closes meanwhile queue here, in order. Replies are never held: the reply to the change's own
 * request is sent after its save anyway (Room.#dispatch), and any other reply meanwhile (a ping, a
 * refused frame) is not about the change, and a keep-alive must not wait for a slow media node.
 */
import type { RoomSnapshot, RoomStore, SavedRoomSnapshot } from '../core/room/store.ts';

export class SaveGate {
  /** Changes under way: several at once when participants' lanes overlap (edge/core/room-queue.ts). */
  #open = 0;
  /** What waits, in the order it was sent. */
  readonly #held: (() => void)[] = [];

  /**
   * Sends `frame` (null: a close) now, or, while a change is under way and it is not a reply, once a save
   * that covers it has landed. `send` checks the fence itself, when it runs.
   */
  pass(frame: string | null, send: () => void): void {
    const reply = frame?.startsWith('{"id":') ?? false;
    if (this.#open > 0 && !reply) this.#held.push(send);
    else send();
  }

  /** The room store of the room, with its changes opening and closing this gate. */
  around(store: RoomStore): RoomStore {
    return {
      load: (): Promise<SavedRoomSnapshot | undefined> => store.load(),
      changing: () => {
        this.#open++;
      },
      save: async (snapshot: RoomSnapshot | undefined) => {
        // The snapshot is taken before this call: what waits now was sent by changes it holds.
        const covered = this.#held.splice(0);
        try {
          await store.save(snapshot);
        } finally {
          // Saved, or failed (the change stays in the room's memory and goes with its next save): out
          // with what it covers. After a step-down the fence drops it.
          for (const send of covered) send();
        }
      },
      changed: () => {
        this.#open = Math.max(0, this.#open - 1);
        // The last change ended: what still waits came from changes whose save wrote nothing new (the
        // snapshot was already as they left it), or from between them.
        if (this.#open === 0) for (const send of this.#held.splice(0)) send();
      },
    };
  }
}
