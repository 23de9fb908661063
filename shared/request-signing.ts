/**
 * Signed requests between the edge and the media nodes, both directions: HMAC-SHA256 with the node's
 * own secret over method, path, timestamp, nonce and a hash of the body. The receiver checks the
 * signature (Web Crypto's verify, constant time), that the timestamp is within ±MAX_SKEW_MS of its clock,
 * and that it has not seen the nonce before (replays are refused). Runtime-neutral: Web Crypto only.
 *
 * Rotation: a receiver accepts any of the secrets it is given (current and previous); a sender signs with
 * its current one. Revocation: remove the secret (or the node) from the receiver's configuration.
 */
import { toBase64Url } from './base64.ts';
import { ErrorCode, TreffpunktError } from './errors.ts';

export const SIGNATURE_HEADER = 'x-treffpunkt-signature';
export const TIMESTAMP_HEADER = 'x-treffpunkt-timestamp';
export const NONCE_HEADER = 'x-treffpunkt-nonce';
export const NODE_HEADER = 'x-treffpunkt-node';

/** How far the sender's clock may be off, either way. */
export const MAX_SKEW_MS = 30_000;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    if (keys.size >= 256) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

async function canonical(
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  body: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const bodyHash = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(body)));
  return new Uint8Array(
    encoder.encode(`${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${toBase64Url(bodyHash)}`),
  );
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(s)) return undefined;
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export interface SignedRequest {
  method: string;
  /** Path and query, e.g. /v1/rooms/r/transports */
  path: string;
  body: string;
}

/** The headers that sign `request` with `secret`. */
export async function signRequest(
  secret: string,
  nodeId: string,
  request: SignedRequest,
  now = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(now);
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      'HMAC',
      await hmacKey(secret),
      await canonical(request.method, request.path, timestamp, nonce, request.body),
    ),
  );
  return {
    [NODE_HEADER]: nodeId,
    [TIMESTAMP_HEADER]: timestamp,
    [NONCE_HEADER]: nonce,
    [SIGNATURE_HEADER]: toBase64Url(mac),
  };
}

/**
 * Nonces seen within the skew window; a nonce seen twice is a replay. Bounded: give each sender its own
 * cache (the edge keeps one per node, edge/core/node-guard.ts), so that one sender filling its cache
 * cannot make another's requests look like replays.
 */
export class NonceCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Records the nonce; false if it was already there (a replay) or the cache is full of live nonces. */
  remember(nonce: string, now: number): boolean {
    if (this.#seen.has(nonce)) return false;
    // Entries are kept in the order they came, which is the order they expire in: drop from the front.
    for (const [n, expires] of this.#seen) {
      if (expires >= now) break;
      this.#seen.delete(n);
    }
    // Still full of live nonces: refuse rather than forget (forgetting would allow a replay).
    if (this.#seen.size >= this.#max) return false;
    this.#seen.set(nonce, now + 2 * MAX_SKEW_MS);
    return true;
  }
}

/** Why a signed request was refused; for the receiver's log only, never told to the sender beyond the text. */
export type RefusalReason = 'unsigned' | 'stale timestamp' | 'bad signature' | 'replayed';

export class RequestRefused extends TreffpunktError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason) {
    super(ErrorCode.Unauthorized, `request refused: ${reason}`);
    this.reason = reason;
  }
}

/**
 * Checks a signed request's signature and timestamp against any of `secrets`, but does not spend its
 * nonce: returns it, for the caller to check against its own replay cache (after its rate limit, so that
 * only authenticated requests count against a sender). Throws RequestRefused (UNAUTHORIZED), never
 * revealing which secret or which check failed beyond that word.
 */
export async function authenticateRequest(
  secrets: readonly string[],
  request: SignedRequest,
  header: (name: string) => string | undefined | null,
  now = Date.now(),
): Promise<{ nonce: string }> {
  const timestamp = header(TIMESTAMP_HEADER) ?? '';
  const nonce = header(NONCE_HEADER) ?? '';
  const signature = fromBase64Url(header(SIGNATURE_HEADER) ?? '');
  if (!signature || !/^\d{1,16}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce))
    throw new RequestRefused('unsigned');
  if (Math.abs(now - Number(timestamp)) > MAX_SKEW_MS) throw new RequestRefused('stale timestamp');
  const data = await canonical(request.method, request.path, timestamp, nonce, request.body);
  let valid = false;
  for (const secret of secrets) {
    // Every secret is tried, so that timing does not tell which one matched.
    if (await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, data)) valid = true;
  }
  if (!valid) throw new RequestRefused('bad signature');
  return { nonce };
}

/**
 * Checks a signed request against any of `secrets` and spends its nonce. Throws UNAUTHORIZED (missing,
 * stale, replayed or wrongly signed), never revealing which secret or which check failed beyond that word.
 */
export async function verifyRequest(
  secrets: readonly string[],
  request: SignedRequest,
  header: (name: string) => string | undefined | null,
  nonces: NonceCache,
  now = Date.now(),
): Promise<void> {
  const { nonce } = await authenticateRequest(secrets, request, header, now);
  // Only a valid request spends its nonce: garbage cannot fill the cache.
  if (!nonces.remember(nonce, now)) throw new RequestRefused('replayed');
}
