/**
 * Frees what nobody uses any more (issue 13, "The media node never forgets"): a WebRTC transport that has
 * not been connected for `transportMs` — its ICE or DTLS never completed, or its ICE consent expired
 * (mediasoup's 30 s consent timeout turns it "disconnected") and it never came back — is closed, with
 * its producers and consumers; a router left with no transport and no pipe for `routerMs` is closed
 * too. Reconciliation with the edge (registration.ts) closes whole rooms the edge no longer has; this is
 * the backstop for what an edge cannot tell (a Durable Object edge, a room whose participant vanished).
 * Closed objects stop counting as load in the heartbeats at once.
 *
 * The bounds are far beyond a resume grace or an ICE restart, so a participant who is merely
 * reconnecting keeps everything.
 */
import type { Logger } from '../shared/logger.ts';
import type { MediaRooms } from './media-rooms.ts';

export interface ReaperBounds {
  /** A WebRTC transport not connected this long is closed. */
  transportMs: number;
  /** A router with nothing in it this long is closed. */
  routerMs: number;
}

/** Connected: ICE found a path and DTLS finished; anything else is waiting, failing or gone. */
function connected(t: { iceState: string; dtlsState: string }): boolean {
  return (t.iceState === 'connected' || t.iceState === 'completed') && t.dtlsState === 'connected';
}

export class Reaper {
  readonly #rooms: MediaRooms;
  readonly #bounds: ReaperBounds;
  readonly #log: Logger;
  /** Since when a transport (by id) or a room (by name) has been seen unconnected or empty. */
  readonly #since = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(rooms: MediaRooms, bounds: ReaperBounds, log: Logger) {
    this.#rooms = rooms;
    this.#bounds = bounds;
    this.#log = log;
  }

  /** Sweeps at a quarter of the shorter bound: an object goes at most 25 % after its bound. */
  start(): void {
    const every = Math.max(250, Math.floor(Math.min(this.#bounds.transportMs, this.#bounds.routerMs) / 4));
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One pass over every room; returns what it closed. */
  sweep(now = Date.now()): { transports: number; routers: number } {
    const seen = new Set<string>();
    let transports = 0;
    let routers = 0;
    for (const name of this.#rooms.names()) {
      const room = this.#rooms.find(name);
      if (!room) continue;
      for (const t of [...room.webRtcTransports()]) {
        const key = `t:${t.id}`;
        if (connected(t)) continue;
        seen.add(key);
        const since = this.#since.get(key) ?? now;
        this.#since.set(key, since);
        if (now - since >= this.#bounds.transportMs) {
          this.#log.info(
            { room: name, transport: t.id, iceState: t.iceState, dtlsState: t.dtlsState, unconnectedMs: now - since },
            'closing a transport that stayed unconnected',
          );
          t.close();
          transports++;
        }
      }
      if (!room.empty) continue;
      const key = `r:${name}`;
      seen.add(key);
      const since = this.#since.get(key) ?? now;
      this.#since.set(key, since);
      if (now - since >= this.#bounds.routerMs) {
        this.#log.info({ room: name, emptyMs: now - since }, 'closing a router nobody uses');
        this.#rooms.close(name);
        routers++;
      }
    }
    // Forget what connected, filled up again or is gone.
    for (const key of this.#since.keys()) if (!seen.has(key)) this.#since.delete(key);
    return { transports, routers };
  }
}
