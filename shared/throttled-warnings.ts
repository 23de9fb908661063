/**
 * Security warnings without a log flood: the first of a kind (per key, e.g. node and reason) is logged at
 * once, the rest within `everyMs` are counted and reported with the next line. Keys must come from a
 * small set (configured node ids, fixed reasons), never from what a client sent. Used by the edge
 * (refused node requests, rate limiting) and the media node (refused control calls).
 */
export class ThrottledWarnings {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  readonly #everyMs: number;

  constructor(everyMs = 10_000) {
    this.#everyMs = everyMs;
  }

  /** Calls `write(suppressed)` unless a line for `key` was written within `everyMs`. */
  warn(key: string, write: (suppressed: number) => void, now = Date.now()): void {
    const seen = this.#last.get(key);
    if (seen && now - seen.at < this.#everyMs) {
      seen.suppressed++;
      return;
    }
    this.#last.set(key, { at: now, suppressed: 0 });
    write(seen?.suppressed ?? 0);
  }
}
