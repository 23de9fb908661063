/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, as coturn's use-auth-secret implements them):
 * username `<expiry-unix-seconds>:<participant>`, password base64(HMAC-SHA1(secret, username)). The edge
 * mints them (edge/core/turn-credentials.ts); the TURN server recomputes the password from the username,
 * so it needs no user database, and refuses a username whose expiry has passed.
 */
import { createHmac } from 'node:crypto';

/** Longest username accepted: an expiry, a colon and a participant id. */
export const MAX_USERNAME_LENGTH = 200;
const USERNAME = /^(\d{1,12}):([\x21-\x7e]{1,180})$/;

export interface RestUsername {
  expiresAt: number;
  /** The participant part: allocation caps count per participant, whatever the expiry. */
  user: string;
}

/** Parses `<expiry>:<participant>`; undefined when malformed. */
export function parseRestUsername(username: string): RestUsername | undefined {
  if (typeof username !== 'string' || username.length > MAX_USERNAME_LENGTH) return undefined;
  const m = USERNAME.exec(username);
  return m ? { expiresAt: Number(m[1]), user: m[2]! } : undefined;
}

export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Why a username is refused at `nowMs`, or undefined when it is well formed and not expired. */
export function restUsernameProblem(username: string, nowMs: number): string | undefined {
  const parsed = parseRestUsername(username);
  if (!parsed) return 'malformed username';
  if (parsed.expiresAt * 1000 <= nowMs) return 'credential expired';
  return undefined;
}

/**
 * A read-only credentials map for node-turn: `map[username]` is the REST password while the username is
 * well formed and unexpired, undefined otherwise (node-turn then answers 401). Nothing is stored.
 */
export function restCredentialsMap(secret: string, now: () => number = Date.now): Record<string, string> {
  return new Proxy(Object.create(null) as Record<string, string>, {
    get: (_t, key) => (typeof key === 'string' && restUsernameProblem(key, now()) === undefined ? restPassword(secret, key) : undefined),
    has: (_t, key) => typeof key === 'string' && restUsernameProblem(key, now()) === undefined,
    set: () => false,
    deleteProperty: () => false,
    defineProperty: () => false,
    ownKeys: () => [],
    getOwnPropertyDescriptor: () => undefined,
  });
}
