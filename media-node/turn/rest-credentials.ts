/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, as coturn's use-auth-secret implements them):
 * username `<expiry-unix-seconds>:<identity>`, password base64(HMAC-SHA1(secret, username)). The edge
 * mints them (edge/core/turn-credentials.ts); the TURN server recomputes the password from the username,
 * so it needs no user database, and refuses a username whose expiry has passed. The identity is a
 * pseudonym of the person (per token identity; for guests per participant), so that allocation caps count
 * per person and not per join.
 */
import { createHmac } from 'node:crypto';

/** Longest username accepted: an expiry, a colon and an identity. */
export const MAX_USERNAME_LENGTH = 200;
const USERNAME = /^(\d{1,12}):([\x21-\x7e]{1,180})$/;

export interface RestUsername {
  expiresAt: number;
  /** The identity part: allocation caps count per identity, whatever the expiry. */
  user: string;
}

/** Parses `<expiry>:<identity>`; undefined when malformed. */
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
 *
 * With `includeExpired`, expired usernames get their password too. The embedded server uses that so that
 * node-turn still verifies MESSAGE-INTEGRITY of a request with an expired credential: the server can then
 * tell a genuine expired credential (a security event worth a warning) from a forged one, and refuses the
 * expired one itself before node-turn's authentication runs (embedded-turn.ts). Never hand such a map
 * to node-turn without that check in front of it.
 */
export function restCredentialsMap(
  secret: string,
  now: () => number = Date.now,
  opts: { includeExpired?: boolean } = {},
): Record<string, string> {
  const ok = (key: string | symbol): key is string =>
    typeof key === 'string' &&
    (opts.includeExpired ? parseRestUsername(key) !== undefined : restUsernameProblem(key, now()) === undefined);
  return new Proxy(Object.create(null) as Record<string, string>, {
    get: (_t, key) => (ok(key) ? restPassword(secret, key) : undefined),
    has: (_t, key) => ok(key),
    set: () => false,
    deleteProperty: () => false,
    defineProperty: () => false,
    ownKeys: () => [],
    getOwnPropertyDescriptor: () => undefined,
  });
}
