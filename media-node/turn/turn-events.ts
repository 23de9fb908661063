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
 *
 * A refused peer is a warning too (issue 15: the all-in-one's relay fallback failed with a 403 that was
 * logged only at debug level): either someone probes the operator's network through the relay, or the
 * node's address settings keep browsers from reaching the SFU. It names the peer (an address the relay
 * was asked to reach, not the client's), at most once a minute per peer address and reason, since Send
 * and ChannelData are checked per packet.
 */
import type { TurnLogger } from './embedded-turn.ts';

export type TurnRefusal = 'credential expired' | 'user quota' | 'total quota';

export interface TurnSecurityEvents {
  refused(identity: string, reason: TurnRefusal, method: string): void;
  allocationEnded(identity: string, reason: 'credential expired'): void;
  peerRefused(peer: string, port: number | undefined, why: string, method: string): void;
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
    peerRefused(peer, port, why, method) {
      const suppressed = due(`p\0${why}\0${peer}`);
      if (suppressed === undefined) return;
      log?.warn(
        {
          security: true,
          event: 'turn.peer-refused',
          peer,
          ...(port === undefined ? {} : { port }),
          why,
          method,
          ...(suppressed ? { suppressed } : {}),
        },
        `TURN ${method} to ${peer} refused: ${why}`,
      );
    },
  };
}
