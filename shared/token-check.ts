/**
 * Checking a bearer token (the edge's admin token, a metrics token), runtime-neutral. The presented token is never compared with `===` (its timing
 * tells how many leading characters were right): both sides go through HMAC-SHA256 under a key made for
 * this process, and WebCrypto's verify compares the MACs in constant time. The token itself is kept only
 * inside that closure, never in a field a logger could print.
 */
const encoder = new TextEncoder();

export interface TokenCheck {
  /** Whether `presented` is the token. */
  matches(presented: string): Promise<boolean>;
}

export async function tokenCheck(token: string): Promise<TokenCheck> {
  // An HMAC key generates a CryptoKey, never a pair (the union is WebCrypto's typing for every algorithm).
  const key = (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ])) as CryptoKey;
  const expected = await crypto.subtle.sign('HMAC', key, encoder.encode(token));
  return {
    matches: async (presented) => crypto.subtle.verify('HMAC', key, expected, encoder.encode(presented)),
  };
}

/** The token from `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S{1,1024})\s*$/i.exec(header ?? '');
  return match?.[1];
}
