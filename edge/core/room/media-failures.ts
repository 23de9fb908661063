/**
 * Media that failed in a participant's browser (issue 13, "wrong settings are silent"): even the relay
 * did not connect. The app says so with `reportMediaFailure`, and the room writes one warn line for the
 * operator with the stable event `mediaFailed`: the room, the participant (its pseudonymous id, never
 * its name), its media node with the region and media address that node announced, and what ICE tried.
 * So a node that fails everyone (a wrong announced address, a firewall in front of it) shows in the
 * edge's log under its id. Not a security event.
 *
 * At most one line per participant per REPORT_WINDOW_MS; reports in between are counted and the count
 * goes with the next line (`suppressed`). The window is kept in memory only: a Durable Object that
 * hibernates forgets it, which allows one more line, never a flood (every report is a frame, and frames
 * are rate limited).
 */
import type { Params } from '../../../shared/signaling.ts';
import { joined, type Handlers, type RoomContext } from './context.ts';

export const REPORT_WINDOW_MS = 60_000;

/** Keys remembered at most (participants who reported); the oldest go first. */
const MAX_KEYS = 1024;

/** Per key: when the last line was written and how many reports were counted since. Pure, for a unit test. */
export class ReportLimiter {
  readonly #windowMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /**
   * A report for `key` at `now`: `{ suppressed }` (how many were counted since the last line) when a
   * line is to be written, or undefined when this one is only counted.
   */
  take(key: string, now: number): { suppressed: number } | undefined {
    const last = this.#last.get(key);
    if (last && now - last.at < this.#windowMs) {
      last.suppressed++;
      return undefined;
    }
    // Unused entries go; an entry with a count stays until the next line of its key carries it.
    for (const [k, v] of this.#last) if (now - v.at >= this.#windowMs && v.suppressed === 0) this.#last.delete(k);
    this.#last.delete(key);
    this.#last.set(key, { at: now, suppressed: 0 });
    if (this.#last.size > MAX_KEYS) this.#last.delete(this.#last.keys().next().value!);
    return { suppressed: last?.suppressed ?? 0 };
  }
}

/** The handler of `reportMediaFailure`. */
export class MediaFailures {
  readonly #ctx: RoomContext;
  readonly #limiter = new ReportLimiter(REPORT_WINDOW_MS);

  constructor(ctx: RoomContext) {
    this.#ctx = ctx;
  }

  async #report(
    p: { id: string; nodeId: string; transports: ReadonlyMap<string, string> },
    report: Params<'reportMediaFailure'>,
  ) {
    const take = this.#limiter.take(p.id, Date.now());
    if (!take) return;
    const { name, deps } = this.#ctx;
    // The node as it registered; a node gone from the registry is still named by its id.
    const node = p.nodeId ? await deps.nodes.describe(p.nodeId).catch(() => undefined) : undefined;
    deps.log.warn(
      {
        event: 'mediaFailed',
        room: name,
        participant: p.id,
        node: p.nodeId || null,
        ...(node ? { region: node.region, operator: node.operator } : {}),
        ...(node?.address ? { address: node.address, tcpPort: node.tcpPort } : {}),
        // A transport id the room does not know as this participant's is not repeated.
        transports: report.transports.map(({ direction, transportId, policy }) => ({
          direction,
          policy,
          ...(transportId !== undefined && p.transports.has(transportId) ? { transportId } : {}),
        })),
        paths: [...new Set(report.paths)],
        tried: report.tried,
        ...(take.suppressed ? { suppressed: take.suppressed } : {}),
      },
      "media failed in a participant's browser: even the relay did not connect to its media node",
    );
  }

  readonly handlers: Handlers<'reportMediaFailure'> = {
    reportMediaFailure: async (conn, params) => {
      await this.#report(joined(this.#ctx.state, conn), params);
      return {};
    },
  };
}
