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

  /** Refusals in a row for this key (1 on the first refusal: worth a log line; later ones are not). */
  refusedInARow(key: string): number {
    return this.#buckets.get(key)?.bucket.refusedInARow ?? 0;
  }
}

/**
 * The key per-address limits count by: an IPv4 address as it is, an IPv6 address by its /64 — one
 * customer line or host usually gets a whole /64, so counting single IPv6 addresses would let one
 * client take 2^64 of them. IPv4-mapped IPv6 (`::ffff:192.0.2.1`, as Node reports IPv4 clients on a
 * dual-stack socket) counts as the IPv4 address.
 * @example addressKey('2001:db8:1:2:aa::1') === addressKey('2001:db8:1:2:bb::2') // '2001:db8:1:2::/64'
 */
export function addressKey(address: string): string {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  if (!a.includes(':')) return a;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = a.split('::', 2);
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

let pseudonymSalt: Uint8Array | undefined;

/**
 * What a log line says about a client address: a salted hash, the salt random per process (per isolate
 * on Workers) and never logged. Lines about the same address within one process can be told together;
 * the address itself cannot be read back from the log.
 */
export async function addressPseudonym(key: string): Promise<string> {
  // Created on first use: Workers allow no random values at global scope.
  pseudonymSalt ??= crypto.getRandomValues(new Uint8Array(16));
  const data = new Uint8Array([...pseudonymSalt, ...new TextEncoder().encode(key)]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
