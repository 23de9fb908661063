/**
 * In-process room actors for the Node edge: one Room per room name, created on first use and dropped
 * when its last participant leaves. Node runs JavaScript on one thread and each Room serialises its own
 * requests, so "get or create" here cannot race.
 */
import { Room, type RoomDeps } from '../core/room.ts';

export class InProcessRoomHost {
  readonly #rooms = new Map<string, Room>();
  readonly #deps: Omit<RoomDeps, 'onEmpty'>;

  constructor(deps: Omit<RoomDeps, 'onEmpty'>) {
    this.#deps = deps;
  }

  get(name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) {
      const created: Room = new Room(name, {
        ...this.#deps,
        onEmpty: () => {
          if (this.#rooms.get(name) === created && created.participantCount === 0) this.#rooms.delete(name);
        },
      });
      room = created;
      this.#rooms.set(name, room);
    }
    return room;
  }

  get size(): number {
    return this.#rooms.size;
  }
}
