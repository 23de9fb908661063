/**
 * Stateless TURN nonces. node-turn keeps every nonce it hands out in a map with a one-hour timer each, so
 * a flood of unauthenticated requests grows the heap by one entry and one timer per packet. These nonces
 * carry their own expiry and a MAC over it instead: checking one needs no state at all.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface NonceIssuer {
  generate(): string;
  check(nonce: unknown): boolean;
}

export function createNonceIssuer(lifetimeMs = 3_600_000, now: () => number = Date.now): NonceIssuer {
  const key = randomBytes(32);
  const mac = (expiry: string) => createHmac('sha256', key).update(expiry).digest('hex').slice(0, 24);
  return {
    generate() {
      const expiry = Math.floor((now() + lifetimeMs) / 1000)
        .toString(16)
        .padStart(10, '0');
      return expiry + mac(expiry);
    },
    check(nonce) {
      if (typeof nonce !== 'string' || !/^[0-9a-f]{34}$/.test(nonce)) return false;
      const expiry = nonce.slice(0, 10);
      const expected = Buffer.from(mac(expiry));
      if (!timingSafeEqual(Buffer.from(nonce.slice(10)), expected)) return false;
      return parseInt(expiry, 16) * 1000 > now();
    },
  };
}
