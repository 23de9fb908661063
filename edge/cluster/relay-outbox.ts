/**
 * The owner's side of one relayed socket's frames (docs/edge-cluster.md, "Frames to relayed sockets"):
 * core NATS delivers at most once, and an edge that is reconnecting to another NATS server misses what is
 * published to it until it has subscribed again. So the owner numbers the frames for the socket (1, 2, …
 * in a stream of its own), keeps each until the relaying edge acks it (acks are cumulative: "all up to n
 * are in"), and sends again what is not acked, from the oldest, first after RESEND_FIRST_MS and then less
 * often. The relaying edge delivers each frame once and in order (relay-inbox.ts).
 *
 * Bounded: at most MAX_UNACKED_FRAMES wait. Beyond that the oldest is given up; the relaying edge sees the
 * gap that never fills and closes the socket, and the app resumes. A relaying edge that stays silent is
 * handled by the owner's edge-silence rule, which closes its sockets and drops their outboxes (stop()).
 */
import { nuid } from '@nats-io/transport-node';

/** Frames kept per relayed socket until acked (a relaying edge that far behind is away, not slow). */
export const MAX_UNACKED_FRAMES = 256;
/** The first resend of an unacked frame: an ack on a healthy link takes a millisecond, not this. */
export const RESEND_FIRST_MS = 250;

/** A frame as it goes out: its number in the stream, and what to send. */
export interface NumberedFrame<T> {
  seq: number;
  frame: T;
}

export interface RelayOutboxOptions<T> {
  /** Publishes one frame (the first time and every time again). */
  send(numbered: NumberedFrame<T>): void;
  /** The longest wait between two resends (the owner's probe interval). */
  resendMaxMs: number;
  /** The oldest frame was given up (the outbox was full): called once per overflow episode. */
  overflowed?(): void;
}

export class RelayOutbox<T> {
  /** The stream's id: new for every outbox, so that no two owners' numberings meet. */
  readonly stream = nuid.next();
  readonly #send: (numbered: NumberedFrame<T>) => void;
  readonly #resendMaxMs: number;
  readonly #overflowed: (() => void) | undefined;
  readonly #unacked: NumberedFrame<T>[] = [];
  #next = 1;
  #delay = RESEND_FIRST_MS;
  #timer: NodeJS.Timeout | undefined;
  #overflowing = false;
  #stopped = false;
  #drained: (() => void)[] = [];

  constructor({ send, resendMaxMs, overflowed }: RelayOutboxOptions<T>) {
    this.#send = send;
    this.#resendMaxMs = Math.max(RESEND_FIRST_MS, resendMaxMs);
    this.#overflowed = overflowed;
  }

  /** Frames sent and not acked yet. */
  get unacked(): number {
    return this.#unacked.length;
  }

  /** Numbers the frame, sends it and keeps it until it is acked. */
  push(frame: T): void {
    if (this.#stopped) return;
    const numbered = { seq: this.#next++, frame };
    this.#unacked.push(numbered);
    if (this.#unacked.length > MAX_UNACKED_FRAMES) {
      this.#unacked.shift();
      if (!this.#overflowing) this.#overflowed?.();
      this.#overflowing = true;
    }
    this.#send(numbered);
    this.#arm();
  }

  /** The relaying edge has every frame up to `seq`. Acks of frames never sent are ignored. */
  acked(seq: number): void {
    if (seq >= this.#next) return;
    let n = 0;
    while (n < this.#unacked.length && this.#unacked[n]!.seq <= seq) n++;
    if (n === 0) return;
    this.#unacked.splice(0, n);
    this.#overflowing = false;
    // Progress: the link works again, the next resend comes soon if needed.
    this.#delay = RESEND_FIRST_MS;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#unacked.length > 0) this.#arm();
    else for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once every frame sent is acked, or after `ms` (a handover waits this long at most). */
  drained(ms: number): Promise<void> {
    if (this.#unacked.length === 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.#drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** No more sends or resends (the socket is gone, or the room is no longer run here). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unacked.length = 0;
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const numbered of this.#unacked) this.#send(numbered);
      this.#delay = Math.min(this.#delay * 2, this.#resendMaxMs);
      if (this.#unacked.length > 0) this.#arm();
    }, this.#delay);
    this.#timer.unref();
  }
}
