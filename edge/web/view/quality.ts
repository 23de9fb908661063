/**
 * The connection-quality indicator: every QUALITY_POLL_MS the loss of what we receive from each
 * participant and of what we send, combined with the SFU's scores into good / fair / poor / lost.
 */
import type { Quality } from '../i18n.ts';
import type { Meeting } from '../meeting/meeting.ts';
import type { Participant } from '../meeting/types.ts';

const QUALITY_POLL_MS = 2_000;

/**
 * Connection quality of a participant. Others: the loss of what we receive from them, and the SFU's
 * score of their sending (a score of 0 is ignored while their media does arrive: the SFU scores a
 * simulcast producer by its worst layer, and a layer the sender dropped for lack of bandwidth scores 0).
 * Yourself: the loss the SFU reports for what you send, else the SFU's score.
 */
export function qualityOf(p: Participant, loss: number | undefined): Quality | undefined {
  const rank: Quality[] = ['lost', 'poor', 'fair', 'good'];
  const fromLoss = (l: number): Quality => (l < 0 ? 'lost' : l > 0.08 ? 'poor' : l > 0.02 ? 'fair' : 'good');
  const worse = (a: Quality | undefined, b: Quality | undefined) =>
    a === undefined ? b : b === undefined ? a : rank.indexOf(a) < rank.indexOf(b) ? a : b;
  // A new producer scores 0 until the SFU's first receive report: not a verdict yet.
  const now = Date.now();
  const receiving = loss !== undefined && loss >= 0;
  const scores = [...p.producers.values()]
    .filter((x) => !x.paused && x.score !== undefined && (x.score > 0 || (now - x.since > 10_000 && !receiving)))
    .map((x) => x.score!);
  const fromScore = scores.length
    ? ((s: number): Quality => (s >= 7 ? 'good' : s >= 4 ? 'fair' : s >= 1 ? 'poor' : 'lost'))(Math.min(...scores))
    : undefined;
  if (p.self) return loss !== undefined ? fromLoss(loss) : fromScore;
  return worse(fromScore, loss === undefined ? undefined : fromLoss(loss));
}

export class QualityMonitor {
  #loss = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** The quality to show for a participant now (from the last poll). */
  of(p: Participant): Quality | undefined {
    return qualityOf(p, this.#loss.get(p.id));
  }

  forget(participantId: string): void {
    this.#loss.delete(participantId);
  }

  /** Polls the meeting's statistics; `updated` redraws whatever shows the quality. */
  start(meeting: Meeting, updated: () => void): void {
    this.#timer = setInterval(() => void this.#poll(meeting, updated), QUALITY_POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(meeting: Meeting, updated: () => void): Promise<void> {
    if (this.#timer === undefined) return;
    this.#loss = await meeting.receiveLoss();
    const sent = await meeting.sendLoss();
    if (sent !== undefined) this.#loss.set(meeting.participantId, sent);
    updated();
  }
}
