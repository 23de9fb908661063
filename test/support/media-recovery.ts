/**
 * Watching pages recover after their media moved: which producers each page decodes video from, and
 * waiting until every page decodes every other page through producers made after a given moment. Used by
 * test/e2e/failover.test.ts and test/bench/failover.ts.
 */
import type { Page } from 'playwright-core';
import { inboundStats } from './browser.ts';
import { waitFor } from './poll.ts';
import type { Stack, StackNode } from './stack.ts';

/**
 * The live media node that carries the meeting now (the one with transports). Asked of the nodes rather
 * than assumed: on a loaded machine a node whose heartbeats came late may already have been left.
 */
export async function nodeCarrying(stack: Stack): Promise<StackNode> {
  for (const node of stack.mediaNodes.filter((n) => n.alive())) {
    const { load } = (await (await fetch(`${node.controlUrl}/healthz`)).json()) as { load: { transports: number } };
    if (load.transports > 0) return node;
  }
  throw new Error('no media node carries the meeting');
}

type Roster = { treffpunkt: { meeting: { participants: Map<string, unknown> } } };

/** How many participants (self included) the page's roster holds. */
export const rosterSize = (page: Page) =>
  page.evaluate(() => (window as unknown as Roster).treffpunkt.meeting.participants.size);

/** What a page's move off a draining node saw when its old transports ended (edge/web/meeting/media-session.ts). */
export interface HandoverRecord {
  sources: number;
  decodedBeforeOldEnd: number;
  how: string;
}

type WithHandovers = { treffpunkt: { meeting: { handovers: readonly HandoverRecord[] } } };

/** The page's handover records, one per move off a draining node whose old transports ended. */
export const handovers = (page: Page) =>
  page.evaluate(() => [...(window as unknown as WithHandovers).treffpunkt.meeting.handovers]);

/** Per remote participant: the producer ids the page has decoded video frames from. */
export async function decodedVideo(page: Page): Promise<Map<string, Set<string>>> {
  const m = new Map<string, Set<string>>();
  for (const s of await inboundStats(page)) {
    if (s.kind !== 'video' || s.framesDecoded === 0) continue;
    const set = m.get(s.participantId) ?? new Set<string>();
    set.add(s.producerId);
    m.set(s.participantId, set);
  }
  return m;
}

/** Every producer any of the pages consumes now: "old" for everyoneDecodesAgain. */
export async function consumedProducers(pages: Page[]): Promise<Set<string>> {
  const s = new Set<string>();
  for (const page of pages) for (const stat of await inboundStats(page)) s.add(stat.producerId);
  return s;
}

/** Resolves once every page decodes video from every other page through a producer not in `old`. */
export async function everyoneDecodesAgain(
  pages: Page[],
  ids: string[],
  old: ReadonlySet<string>,
  ms: number,
): Promise<void> {
  await waitFor(
    "every page to decode every other page's video again",
    async () => {
      for (const [i, page] of pages.entries()) {
        const decoded = await decodedVideo(page);
        for (const [j, id] of ids.entries()) {
          if (i === j) continue;
          if (![...(decoded.get(id) ?? [])].some((p) => !old.has(p))) return false;
        }
      }
      return true;
    },
    ms,
    100,
  );
}
