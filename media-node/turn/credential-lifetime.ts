/**
 * How a TURN credential bounds what is done with it on the embedded server (embedded-turn.ts): a request
 * with an expired credential is refused (401, logged as a security event), and no allocation outlives the
 * credential that made or last refreshed it (the granted LIFETIME stops at the credential's expiry).
 *
 * Refresh and lifetimes are ours because node-turn's Refresh reads settings that do not exist and drops the
 * allocation 1 ms later, and its expiry never closes the relay socket (docs/turn.md).
 */
import type { NtAllocation, NtMessage, NtServer } from './node-turn.ts';
import { parseRestUsername } from './rest-credentials.ts';
import type { TurnSecurityEvents } from './turn-events.ts';

/** RFC 5766 §2.2: an allocation's lifetime when the client asks for none or for less. */
export const DEFAULT_LIFETIME = 600;

type AuthCallback = (err: Error | null, reply?: NtMessage) => void;

/**
 * Until when (ms) an Allocate or Refresh keeps the allocation: RFC 5766's rule (the default for no or a
 * shorter request, at most the maximum), and never past the expiry of the request's credential. A client
 * that keeps its allocation beyond that needs a new credential, which only the edge hands out.
 */
export function grantedUntil(msg: NtMessage, nowMs: number, maxLifetimeSeconds: number): number {
  const requested = msg.getAttribute('lifetime');
  const seconds =
    typeof requested === 'number'
      ? Math.min(Math.max(requested, DEFAULT_LIFETIME), maxLifetimeSeconds)
      : Math.min(DEFAULT_LIFETIME, maxLifetimeSeconds);
  const expiresAt = (parseRestUsername(msg.user?.username ?? '')?.expiresAt ?? 0) * 1000;
  return Math.min(nowMs + seconds * 1000, expiresAt);
}

/** Sets the allocation's lifetime to end at `untilMs`, replacing node-turn's timer with one that calls `expire`. */
export function scheduleExpiry(a: NtAllocation, untilMs: number, nowMs: number, expire: () => void): void {
  clearTimeout(a.timer);
  const ms = Math.max(0, untilMs - nowMs);
  a.lifetime = Math.ceil(ms / 1000);
  a.timeToExpiry = untilMs;
  a.timer = setTimeout(expire, ms);
  a.timer.unref();
}

/** Whether the allocation was made or last refreshed with a credential that has expired by now. */
export function credentialExpired(a: NtAllocation, nowMs: number): { user: string } | undefined {
  const parsed = parseRestUsername(a.user?.username ?? '');
  return parsed && parsed.expiresAt * 1000 <= nowMs ? { user: parsed.user } : undefined;
}

/**
 * Puts a check in front of node-turn's authentication: a request whose MESSAGE-INTEGRITY is right but whose
 * credential has expired is refused here with 401 (and REALM and NONCE, as RFC 5389 §10.2.2 asks for
 * a credential that is no longer valid), and logged. Everything else goes on to node-turn, which
 * refuses malformed, forged and wrong-secret credentials itself.
 */
export function refuseExpiredCredentials(server: NtServer, events: TurnSecurityEvents, now: () => number): void {
  const auth = server.authentification;
  const next = auth.auth.bind(auth);
  auth.auth = (msg: NtMessage, cb: AuthCallback) => {
    const username = msg.getAttribute('username');
    const parsed = typeof username === 'string' ? parseRestUsername(username) : undefined;
    if (parsed && parsed.expiresAt * 1000 <= now() && typeof msg.getAttribute('message-integrity') === 'string') {
      events.refused(parsed.user, 'credential expired', methodName(msg.method));
      const reply = msg.reply();
      reply.addAttribute('realm', server.realm);
      reply.addAttribute('nonce', auth.generateNonce());
      reply.reject(401, 'Unauthorized');
      return cb(new Error('credential expired'));
    }
    next(msg, cb);
  };
}

const METHOD_NAMES: Record<number, string> = { 3: 'Allocate', 4: 'Refresh', 8: 'CreatePermission', 9: 'ChannelBind' };
function methodName(method: number): string {
  return METHOD_NAMES[method] ?? `method 0x${method.toString(16)}`;
}
