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
  #held: (() => void)[] | undefined;

  /**
   * Sends `frame` (null: a close) now, or once the change under way is saved if it is not a reply.
   * `send` checks the fence itself, when it runs.
   */
  pass(frame: string | null, send: () => void): void {
    const reply = frame?.startsWith('{"id":') ?? false;
    if (this.#held && !reply) this.#held.push(send);
    else send();
  }

  /** The room store of the room, with its changes opening and closing this gate. */
  around(store: RoomStore): RoomStore {
    return {
      load: (): Promise<SavedRoomSnapshot | undefined> => store.load(),
      changing: () => {
        this.#held ??= [];
      },
      save: async (snapshot: RoomSnapshot | undefined) => {
        try {
          await store.save(snapshot);
        } finally {
          // Saved, or failed (the change stays in the room's memory and goes with its next save): out
          // with what waited. After a step-down the fence drops it.
          const held = this.#held ?? [];
          this.#held = undefined;
          for (const send of held) send();
        }
      },
    };
  }
}
