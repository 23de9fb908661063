/**
 * The relaying edge's side of one socket's numbered frames from the room's owner (relay-outbox.ts): each
 * frame is delivered once and in order. A frame seen before is dropped (its ack was lost, or the owner
 * sent it again before the ack came); one that comes early waits until the frames before it come (the
 * owner sends them again). A gap is held within bounds: MAX_HELD_FRAMES frames, and as long as the relaying
 * edge lets it (it closes the socket after that, see gapSince).
 *
 * The stream is the one the owner named when it acked the socket's `open`. Frames of another stream are
 * kept aside (bounded) until an open binds their stream: the owner may send the first ones before its ack
 * of the open is read here. The stream before it (the room's previous owner, which stepped down with
 * frames not acked yet and goes on sending them for a while) is still taken, in its own order: those
 * frames were sent before the room moved, and a local socket would have had them.
 */

/** Frames one socket may hold after a gap (or before its stream is known). */
export const MAX_HELD_FRAMES = 256;

export interface Taken<T> {
  /** The stream of the frames taken (to ack in). */
  stream: string | undefined;
  /** What to deliver now, in order. */
  ready: T[];
  /** The highest number delivered in the stream: to ack (undefined: nothing to ack). */
  ack: number | undefined;
  /** A frame was lost for good (more held than the bound, or a gap left open by a previous stream). */
  lost: boolean;
}

export class RelayInbox<T> {
  #stream: string | undefined;
  #next = 1;
  readonly #held = new Map<number, T>();
  /** When the current gap opened (undefined: none). */
  #gapSince: number | undefined;
  /** Frames of a stream not bound yet, by number. */
  #early: { stream: string; frames: Map<number, T> } | undefined;
  /** The stream bound before this one, and the next number expected in it. */
  #previous: { stream: string; next: number } | undefined;

  get stream(): string | undefined {
    return this.#stream;
  }

  /** When the oldest gap still open was seen (performance.now()), if a frame waits for one. */
  get gapSince(): number | undefined {
    return this.#gapSince;
  }

  /**
   * The owner numbers this socket's frames in `stream` from now on (its ack of the socket's open). The same
   * stream again (the socket opened again with the same owner, which still knew it) goes on where it was.
   */
  bind(stream: string, now: number): Taken<T> {
    if (stream === this.#stream) return { stream, ready: [], ack: undefined, lost: false };
    // A gap of the previous stream never filled: something the client should have got is gone.
    const lost = this.#held.size > 0;
    this.#previous = this.#stream === undefined ? undefined : { stream: this.#stream, next: this.#next };
    this.#stream = stream;
    this.#next = 1;
    this.#held.clear();
    this.#gapSince = undefined;
    const early = this.#early?.stream === stream ? this.#early.frames : undefined;
    this.#early = undefined;
    const taken: Taken<T> = { stream, ready: [], ack: undefined, lost };
    for (const [seq, frame] of [...(early ?? [])].sort((a, b) => a[0] - b[0])) {
      const t = this.take(stream, seq, frame, now);
      taken.ready.push(...t.ready);
      taken.ack = t.ack ?? taken.ack;
      taken.lost ||= t.lost;
    }
    return taken;
  }

  /** Whether frames of `stream` are taken now (the bound stream or the one before it), not kept aside. */
  knows(stream: string): boolean {
    return stream === this.#stream || stream === this.#previous?.stream;
  }

  /** A numbered frame from the owner. */
  take(stream: string, seq: number, frame: T, now: number): Taken<T> {
    const prev = this.#previous;
    if (stream === prev?.stream) {
      // The previous owner sends its tail again from the oldest, in order: only the next one is taken.
      const ready = seq === prev.next ? [frame] : [];
      if (seq === prev.next) prev.next++;
      return { stream, ready, ack: prev.next > 1 ? prev.next - 1 : undefined, lost: false };
    }
    if (stream !== this.#stream) {
      if (this.#early?.stream !== stream) this.#early = { stream, frames: new Map() };
      if (this.#early.frames.size < MAX_HELD_FRAMES) this.#early.frames.set(seq, frame);
      return { stream, ready: [], ack: undefined, lost: false };
    }
    const delivered = () => (this.#next > 1 ? this.#next - 1 : undefined);
    if (seq < this.#next) return { stream, ready: [], ack: delivered(), lost: false };
    if (seq > this.#next) {
      this.#held.set(seq, frame);
      this.#gapSince ??= now;
      return { stream, ready: [], ack: delivered(), lost: this.#held.size > MAX_HELD_FRAMES };
    }
    const ready = [frame];
    this.#next++;
    for (let f = this.#held.get(this.#next); f !== undefined; f = this.#held.get(this.#next)) {
      ready.push(f);
      this.#held.delete(this.#next++);
    }
    // A later gap may still be open: it counts from now, when the one before it filled.
    this.#gapSince = this.#held.size > 0 ? now : undefined;
    return { stream, ready, ack: delivered(), lost: false };
  }
}
