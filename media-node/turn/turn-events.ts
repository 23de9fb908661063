/**
 * Security events of the TURN service: requests refused because a credential expired or a quota was
 * reached, and allocations ended because their credential expired. Refusals are warnings (someone holds
 * on to a credential past its lifetime, or makes more allocations than a browser needs); an allocation
 * ended with its credential is expected when a client did not renew, so it is info.
 *
 * Pseudonymous: the identity is the part after the colon of the REST username, which the edge makes a
 * keyed hash of the person (or a guest's participant id), never a name or token; no client address.
 * At most one event per identity and reason a minute, so that a client retrying in a loop cannot flood the
 * log (the next event says how many were left out).
 */
import type { TurnLogger } from './embedded-turn.ts';

export type TurnRefusal = 'credential expired' | 'user quota' | 'total quota';

export interface TurnSecurityEvents {
  refused(identity: string, reason: TurnRefusal, method: string): void;
  allocationEnded(identity: string, reason: 'credential expired'): void;
}

const EVERY_MS = 60_000;
const MAX_TRACKED = 10_000;

export function turnSecurityEvents(log: TurnLogger | undefined, now: () => number = Date.now): TurnSecurityEvents {
  const last = new Map<string, { at: number; suppressed: number }>();
  const due = (key: string): number | undefined => {
    const t = now();
    const seen = last.get(key);
    if (seen && t - seen.at < EVERY_MS) {
      seen.suppressed++;
      return undefined;
    }
    if (last.size >= MAX_TRACKED) last.clear();
    last.set(key, { at: t, suppressed: 0 });
    return seen?.suppressed ?? 0;
  };
  return {
    refused(identity, reason, method) {
      const suppressed = due(`r\0${reason}\0${identity}`);
      if (suppressed === undefined) return;
      log?.warn(
        { security: true, event: 'turn.refused', reason, method, identity, ...(suppressed ? { suppressed } : {}) },
        `TURN ${method} refused: ${reason}`,
      );
    },
    allocationEnded(identity, reason) {
      const suppressed = due(`e\0${reason}\0${identity}`);
      if (suppressed === undefined) return;
      log?.info(
        { event: 'turn.allocation-ended', reason, identity, ...(suppressed ? { suppressed } : {}) },
        `TURN allocation ended: ${reason}`,
      );
    },
  };
}
