/**
 * Token buckets: `rate` tokens per second, at most `burst` saved up. Used for the messages of one
 * connection and for new connections per client address. In memory: on Workers it is per isolate (and
 * per room object), which bounds a single flood but is no global quota; put Cloudflare's rate limiting
 * rules in front for that.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;
  /** Requests refused in a row; reset by the next accepted one. */
  refusedInARow = 0;

  constructor(rate: number, burst: number, now = Date.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  take(now = Date.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1) {
      this.refusedInARow++;
      return false;
    }
    this.#tokens -= 1;
    this.refusedInARow = 0;
    return true;
  }
}

/** One bucket per key (a client address), forgetting idle keys so the map stays bounded. */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  constructor(ratePerSecond: number, burst: number, maxKeys = 50_000) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  take(key: string, now = Date.now()): boolean {
    let entry = this.#buckets.get(key);
    if (!entry) {
      if (this.#buckets.size >= this.#maxKeys) {
        // Forget keys idle long enough to have refilled completely: they would start full anyway.
        const refill = (this.#burst / this.#rate) * 1000;
        for (const [k, e] of this.#buckets) if (now - e.used > refill) this.#buckets.delete(k);
      }
      entry = { bucket: new TokenBucket(this.#rate, this.#burst, now), used: now };
      this.#buckets.set(key, entry);
    }
    entry.used = now;
    return entry.bucket.take(now);
  }
}
