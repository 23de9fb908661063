/**
 * The rooms this node serves, by name: each a MediaRoom (media-room.ts) with its own router. Creating
 * a room is idempotent, and a retried or simultaneous create waits for the same router instead of making
 * a second one.
 */
import type { MediaEvent, NodeLoad } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { MediaRoom } from './media-room.ts';
import type { MediaRoomTuning } from './media-room.ts';
import type { PipeListen } from './pipe.ts';
import type { WorkerPool } from './worker-pool.ts';

/** Where the node's observations go (to the edge, through registration.ts). */
export type MediaEventSink = (room: string, event: MediaEvent) => void;

/** The defaults of media-node/settings.ts. */
const DEFAULT_TUNING: MediaRoomTuning = { keyFrameRequestDelayMs: 400 };

export class MediaRooms {
  readonly #pool: WorkerPool;
  readonly #emit: MediaEventSink;
  readonly #pipeListen: PipeListen;
  readonly #tuning: MediaRoomTuning;
  readonly #rooms = new Map<string, MediaRoom>();
  /** Rooms being created: a retried create waits for the same one instead of making a second. */
  readonly #creating = new Map<string, Promise<MediaRoom>>();

  constructor(
    pool: WorkerPool,
    emit: MediaEventSink = () => {},
    pipeListen: PipeListen = { ip: '127.0.0.1' },
    tuning: MediaRoomTuning = DEFAULT_TUNING,
  ) {
    this.#pool = pool;
    this.#emit = emit;
    this.#pipeListen = pipeListen;
    this.#tuning = tuning;
  }

  /** The room, created on the least loaded worker if this node has no router for it yet. */
  async getOrCreate(name: string): Promise<MediaRoom> {
    const existing = this.#rooms.get(name);
    if (existing) return existing;
    let pending = this.#creating.get(name);
    if (!pending) {
      pending = (async () => {
        try {
          const room = await MediaRoom.create({
            name,
            pooled: this.#pool.leastLoaded(),
            emit: (event) => this.#emit(name, event),
            pipeListen: this.#pipeListen,
            tuning: this.#tuning,
          });
          this.#rooms.set(name, room);
          return room;
        } finally {
          this.#creating.delete(name);
        }
      })();
      this.#creating.set(name, pending);
    }
    return pending;
  }

  /** The room; NOT_FOUND if this node has no router for it. */
  get(name: string): MediaRoom {
    const room = this.#rooms.get(name);
    if (!room) throw new TreffpunktError(ErrorCode.NotFound, `no router for room ${name}`);
    return room;
  }

  /** The room if this node has it: for operations that are fine without (closing, diagnostics). */
  find(name: string): MediaRoom | undefined {
    return this.#rooms.get(name);
  }

  /** The rooms this node holds a router for. */
  names(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Closes the room's router and everything in it (idempotent). */
  close(name: string): void {
    const room = this.#rooms.get(name);
    if (!room) return;
    this.#rooms.delete(name);
    room.close();
  }

  load(): NodeLoad {
    let transports = 0;
    let producers = 0;
    let consumers = 0;
    for (const room of this.#rooms.values()) {
      const counts = room.counts();
      transports += counts.transports;
      producers += counts.producers;
      consumers += counts.consumers;
    }
    return { workers: this.#pool.workers.length, routers: this.#rooms.size, transports, producers, consumers };
  }
}
