/**
 * Make-before-break when our media node drains (issue 14): `mediaMoved` with `keepOld` leaves the old
 * node's transports, producers and consumers flowing while media-session.ts builds the new ones. Each tile
 * switches to its new consumer once that has decoded (receiver.ts); once all have (or after the wait the
 * room gave) we say `mediaMoveDone`, and the room's `oldMediaClosed` closes the old media here. The old
 * transports are no longer current, so their end never counts as a failure (no relay fallback, no report).
 */
import type { types } from 'mediasoup-client';
import type { Receiver } from './receiver.ts';
import { SWITCH_TIMEOUT_MS } from './receiver.ts';
import type { Sender } from './sender.ts';
import type { MediaContext } from './types.ts';

/**
 * A handover's switch-over waits for the new consumers to decode until this long before the room closes
 * the old media (mediaMoved's keepOldMs), so that mediaMoveDone arrives in time.
 */
const DONE_MARGIN_MS = 2_000;

/** How long to wait for the new consumers of a handover, given how long the room keeps the old media. */
export const switchWait = (keepOldMs: number | undefined) =>
  keepOldMs === undefined ? SWITCH_TIMEOUT_MS : Math.max(0, keepOldMs - DONE_MARGIN_MS);

/** A keepOld move: the producers that do not move, and how long to wait for the switch-over. */
export interface KeepOld {
  staying: ReadonlySet<string>;
  waitMs: number;
}

/** What a handover (a keepOld move) saw when its old transports ended: the order make-before-break promises. */
export interface HandoverRecord {
  /** Remote sources that played on the old transport at the move. */
  sources: number;
  /** Of those, how many had been taken over by a new consumer that had decoded. */
  decodedBeforeOldEnd: number;
  /** How the old transports ended: 'closed' (by us, on oldMediaClosed or another move) or their state. */
  how: string;
}

/** The old node's transports during a handover; `ended` once its HandoverRecord is written. */
interface OldMedia {
  transports: types.Transport[];
  sources: number;
  ended: boolean;
}

export class Handover {
  /** One record per handover, once its old transports ended (tests and benchmarks read them). */
  readonly records: HandoverRecord[] = [];
  readonly #ctx: MediaContext;
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  #old: OldMedia | undefined;

  constructor(ctx: MediaContext, sender: Sender, receiver: Receiver) {
    this.#ctx = ctx;
    this.#sender = sender;
    this.#receiver = receiver;
  }

  /**
   * A handover starts: `transports` (the current ones until now) become the old node's, with everything
   * on them still flowing; an earlier handover's old media goes first (never two old nodes at once).
   */
  begin(transports: types.Transport[], { staying, waitMs }: KeepOld): void {
    this.closeOld();
    this.#sender.retire();
    this.#receiver.retire(staying, waitMs);
    const old: OldMedia = { transports, sources: this.#receiver.oldConsumers.size, ended: false };
    this.#old = old;
    // The old node may end them before the room's oldMediaClosed arrives: that is their end too.
    for (const tr of transports)
      tr.on('connectionstatechange', (state) => {
        if (state === 'failed' || state === 'closed' || state === 'disconnected') this.#noteEnd(old, state);
      });
  }

  /** Once every remote source plays from the new node (or the wait given at the move is over), tells the room. */
  async sayDone(stale: () => boolean): Promise<void> {
    await this.#receiver.switchedOver(stale);
    if (stale()) return;
    await this.#ctx
      .request('mediaMoveDone', {})
      .catch((err) => console.warn('treffpunkt: telling the room that our new media is up failed', err));
  }

  /** The old node's media goes (oldMediaClosed, another move, the end): its consumers, producers, transports. */
  closeOld(): void {
    const old = this.#old;
    if (!old) return;
    this.#old = undefined;
    this.#noteEnd(old, 'closed');
    this.#receiver.closeOld();
    this.#sender.dropRetired();
    for (const tr of old.transports) {
      try {
        tr.close();
      } catch {
        // already closed
      }
    }
  }

  #noteEnd(old: OldMedia, how: string): void {
    if (old.ended) return;
    old.ended = true;
    this.records.push({ sources: old.sources, decodedBeforeOldEnd: this.#receiver.switchedOnDecode, how });
  }
}
