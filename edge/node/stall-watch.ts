/**
 * Notices when this process did not run for a while: a timer that should tick every TICK_MS and fires
 * much later means the event loop (or the whole process: SIGSTOP, a paused VM) was stalled. See
 * edge/core/edge-stall.ts for what the edge does with it.
 */
import type { EdgeStall } from '../core/edge-stall.ts';
import type { Logger } from '../core/logger.ts';

const TICK_MS = 250;

export class StallWatch implements EdgeStall {
  readonly #thresholdMs: number;
  readonly #log: Logger;
  #last = Date.now();
  #endedAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `thresholdMs`: a gap this much longer than a tick counts as a stall. */
  constructor(thresholdMs: number, log: Logger) {
    this.#thresholdMs = thresholdMs;
    this.#log = log;
  }

  start(): this {
    this.#last = Date.now();
    this.#timer = setInterval(() => this.#check(Date.now()), TICK_MS);
    this.#timer.unref();
    return this;
  }

  /** A tick overdue by more than the threshold: the stall ends now. */
  #check(now: number): void {
    const gap = now - this.#last;
    this.#last = now;
    if (gap - TICK_MS <= this.#thresholdMs) return;
    this.#endedAt = now;
    this.#log.warn(
      { stalledMs: gap - TICK_MS },
      'this edge was stalled: media nodes silent since are asked directly before anyone is moved',
    );
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Checked here too, not only at the tick: after SIGCONT every overdue timer runs in one go, in the
   * order they fell due, and a room's node check due before the tick must already know of the stall.
   */
  lastStallEndedAt(): number | undefined {
    if (this.#timer !== undefined) this.#check(Date.now());
    return this.#endedAt;
  }
}
