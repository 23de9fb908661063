/**
 * Short-lived TURN credentials for one participant on one media node, in the TURN REST API scheme that
 * coturn's use-auth-secret and the embedded TURN server check: username `<expiry-unix-seconds>:<participant>`,
 * credential base64(HMAC-SHA1(node TURN secret, username)). Runtime-neutral (Web Crypto only).
 */
import { toBase64 } from '../../shared/base64.ts';

export interface TurnIceServer {
  urls: string[];
  username: string;
  credential: string;
}

export interface MintTurnCredentialsInput {
  /** The node's TURN secret, from its registration. */
  secret: string;
  participantId: string;
  /** How long the credential is valid. The TURN server refuses new allocations after that. */
  ttlSeconds: number;
  /** Milliseconds since the epoch (Date.now()). */
  now: number;
  /** The node's TURN URLs, from its registration. */
  urls: readonly string[];
}

/** What the TURN servers accept as the participant part (see media-node/turn/rest-credentials.ts). */
const PARTICIPANT = /^[\x21-\x7e]{1,180}$/;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    // A handful of nodes: keep their keys, but never let the cache grow without bound.
    if (keys.size >= 256) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** base64(HMAC-SHA1(secret, username)): the TURN REST password for `username`. */
export async function turnRestPassword(secret: string, username: string): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(username))));
}

/** An RTCIceServer for `participantId`, valid for ttlSeconds from now. */
export async function mintTurnCredentials(input: MintTurnCredentialsInput): Promise<TurnIceServer> {
  if (!PARTICIPANT.test(input.participantId) || input.participantId.includes(':')) {
    throw new Error('participant id must be 1-180 printable ASCII characters without spaces or colons');
  }
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 1) throw new Error('ttlSeconds must be a positive integer');
  if (input.secret.length < 16) throw new Error('TURN secret must be at least 16 characters');
  const expiry = Math.floor(input.now / 1000) + input.ttlSeconds;
  const username = `${expiry}:${input.participantId}`;
  return { urls: [...input.urls], username, credential: await turnRestPassword(input.secret, username) };
}
