/**
 * Short-lived TURN credentials for one person on one media node, in the TURN REST API scheme that
 * coturn's use-auth-secret and the embedded TURN server check: username `<expiry-unix-seconds>:<pseudonym>`,
 * credential base64(HMAC-SHA1(node TURN secret, username)). Runtime-neutral (Web Crypto only).
 *
 * The part after the colon is what the TURN servers count allocations by (their per-user quota). It is a
 * pseudonym of the caller's identity key, so that the cap counts per person and not per join: someone who
 * joins again gets a new participant id, but with a token the same identity, and with it the same quota.
 * The identity key is:
 * - for a participant who joined with a token: its token identity (issuer and subject, else `jti`, hashed:
 *   `VerifiedJoin.identity` in join-tokens.ts), the same one that removal bars and one-session-per-token use;
 * - for a guest: the participant id (guests have no identity beyond the join; a guest who joins again is a
 *   new guest to the quota too, and only the node's total quota and the edge's join rate limits bound them).
 * The pseudonym is HMAC-SHA-256 of the identity key with the node's TURN secret, cut to 128 bits: the
 * node's operator can count a person's allocations but reads no issuer, subject or participant id from
 * it, and nodes with different secrets (different operators) see unrelated pseudonyms for one person.
 */
import { toBase64, toBase64Url } from '../../shared/base64.ts';

export interface TurnIceServer {
  urls: string[];
  username: string;
  credential: string;
}

export interface MintTurnCredentialsInput {
  /** The node's TURN secret, from its registration. */
  secret: string;
  /** Stable key of the person: the token identity of a token holder, or a guest's participant id. */
  identity: string;
  /** How long the credential is valid: no allocation made or refreshed with it outlives it. */
  ttlSeconds: number;
  /** Milliseconds since the epoch (Date.now()). */
  now: number;
  /** The node's TURN URLs, from its registration. */
  urls: readonly string[];
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string, hash: 'SHA-1' | 'SHA-256'): Promise<CryptoKey> {
  const id = `${hash}\0${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash }, false, ['sign']);
    // A handful of nodes: keep their keys, but never let the cache grow without bound.
    if (keys.size >= 256) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** base64(HMAC-SHA1(secret, username)): the TURN REST password for `username`. */
export async function turnRestPassword(secret: string, username: string): Promise<string> {
  return toBase64(
    new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret, 'SHA-1'), encoder.encode(username))),
  );
}

/** The pseudonym of `identity` on the node with this secret: 22 base64url characters (128 bits). */
export async function turnPseudonym(secret: string, identity: string): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign(
      'HMAC',
      await hmacKey(secret, 'SHA-256'),
      encoder.encode(`treffpunkt-turn-identity\0${identity}`),
    ),
  );
  return toBase64Url(mac.subarray(0, 16));
}

/** An RTCIceServer for the person with this identity key, valid for ttlSeconds from now. */
export async function mintTurnCredentials(input: MintTurnCredentialsInput): Promise<TurnIceServer> {
  if (typeof input.identity !== 'string' || input.identity.length < 1 || input.identity.length > 1024) {
    throw new Error('identity must be a string of 1-1024 characters');
  }
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 1)
    throw new Error('ttlSeconds must be a positive integer');
  if (input.secret.length < 16) throw new Error('TURN secret must be at least 16 characters');
  const expiry = Math.floor(input.now / 1000) + input.ttlSeconds;
  const username = `${expiry}:${await turnPseudonym(input.secret, input.identity)}`;
  return { urls: [...input.urls], username, credential: await turnRestPassword(input.secret, username) };
}
