/**
 * Where a page's failover spends its time after the signal (test/bench/failover.ts, issue 14): the app's
 * marks of a node change (edge/web/timeline.ts: mediaMoved received, device loaded, transports made, our
 * sources produced, everyone consumed, each transport connected) and, from the page's recorder
 * (join-timeline.ts), when the new consumers of the others' video appeared, got their first packet and
 * decoded their first frame. All in ms from the signal, on one clock (the page's marks turned into
 * wall-clock time with its timeOrigin).
 */
import type { Page } from 'playwright-core';
import { readTimeline } from './join-timeline.ts';

/** The steps, in the order they happen, as the breakdown table lists them. */
export const FAILOVER_STEPS = [
  'move-received',
  'move-device-loaded',
  'move-transports-made',
  'produce-asked-microphone',
  'produced-microphone',
  'produce-asked-camera',
  'produced-camera',
  'move-produced',
  'move-consumed',
  'send-connected',
  'recv-connected',
  'last remote video: consumer made',
  'last remote video: first packet',
  'last remote video: first frame',
] as const;
export type FailoverStep = (typeof FAILOVER_STEPS)[number];

/**
 * One page's steps after the signal at `signalAt` (wall clock, ms). A remote video's step is its
 * earliest new consumer's; the page's is the latest remote's (everyone decodes once the last does).
 * Missing steps are left out.
 */
export async function failoverSteps(page: Page, signalAt: number): Promise<Partial<Record<FailoverStep, number>>> {
  const origin = await page.evaluate(() => performance.timeOrigin);
  const after = signalAt - origin;
  const t = await readTimeline(page, after);
  const steps: Partial<Record<FailoverStep, number>> = {};
  for (const step of FAILOVER_STEPS) {
    const at = t.marks[step];
    if (at !== undefined) steps[step] = at - after;
  }
  const video = t.tracks.filter((x) => x.kind === 'video' && x.seen >= after);
  const remotes = new Set(video.map((x) => x.participantId));
  const latest = (what: 'seen' | 'firstPacket' | 'firstDecoded'): number | undefined => {
    let last: number | undefined;
    for (const remote of remotes) {
      const xs = video.filter((x) => x.participantId === remote && x[what] !== undefined).map((x) => x[what]!);
      if (xs.length === 0) return undefined;
      last = Math.max(last ?? 0, Math.min(...xs));
    }
    return last === undefined ? undefined : last - after;
  };
  const made = latest('seen');
  const packet = latest('firstPacket');
  const frame = latest('firstDecoded');
  if (made !== undefined) steps['last remote video: consumer made'] = made;
  if (packet !== undefined) steps['last remote video: first packet'] = packet;
  if (frame !== undefined) steps['last remote video: first frame'] = frame;
  return steps;
}
