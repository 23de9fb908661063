/**
 * Where joining spends its time, read from a page of the browser app (test/bench/web.ts):
 *
 *   - the app's own marks on the performance timeline (edge/web/timeline.ts: devices ready, click on "Join",
 *     socket open, join reply, transports made, their 'connect' (the DTLS parameters go to the node),
 *     connected (ICE and DTLS), producers made), each the first after the click, plus the page load
 *     (navigation timing);
 *   - what the page receives, per consumer: when it appears (the consumer is made in the page), its first
 *     RTP packet, and its first decoded frame (video: framesDecoded > 0) or first decoded audio (audio:
 *     totalSamplesReceived beyond concealedSamples). A recorder in the page polls getStats for it every
 *     few milliseconds, so no round trip to the test process is in the figures.
 *
 * Times are milliseconds on the page's clock (performance.now()); `timeOrigin` turns them into wall-clock
 * time, to put several pages (each with its own clock origin) on one time line.
 */
import type { Page } from 'playwright-core';

/** One remote track as the page receives it; times on the page's clock, undefined: not yet. */
export interface ReceivedTrack {
  consumerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: string;
  seen: number;
  firstPacket?: number;
  firstDecoded?: number;
}

export interface PageTimeline {
  timeOrigin: number;
  /** Navigation timing: the HTML received, DOMContentLoaded done (the app's script has run). */
  htmlReceived: number;
  domContentLoaded: number;
  /** The app's marks (without the `treffpunkt:` prefix): the first of each at or after `after`. */
  marks: Record<string, number>;
  tracks: ReceivedTrack[];
}

/**
 * Installs the recorder in every document the page opens (before the app's script), polling every
 * `everyMs`. Only for pages that are timed: getStats that often costs CPU.
 */
export async function recordReceivedMedia(page: Page, everyMs: number): Promise<void> {
  await page.addInitScript((every: number) => {
    type Stat = {
      consumerId: string;
      participantId: string;
      kind: 'audio' | 'video';
      source: string;
      packetsReceived: number;
      framesDecoded: number;
      totalSamplesReceived: number;
      concealedSamples: number;
    };
    // Types are erased: the serialised function may name the module's own.
    type Track = ReceivedTrack;
    const w = window as unknown as {
      treffpunkt?: { meeting?: { inboundStats(): Promise<Stat[]> } };
      __receivedMedia: { tracks: Map<string, Track>; stop: () => void };
    };
    const tracks = new Map<string, Track>();
    let stopped = false;
    w.__receivedMedia = { tracks, stop: () => (stopped = true) };
    const poll = async () => {
      if (stopped) return;
      const meeting = w.treffpunkt?.meeting;
      if (meeting) {
        const now = performance.now();
        for (const s of await meeting.inboundStats().catch(() => [])) {
          let t = tracks.get(s.consumerId);
          if (!t) {
            t = { consumerId: s.consumerId, participantId: s.participantId, kind: s.kind, source: s.source, seen: now };
            tracks.set(s.consumerId, t);
          }
          if (t.firstPacket === undefined && s.packetsReceived > 0) t.firstPacket = now;
          const decoded = s.kind === 'video' ? s.framesDecoded > 0 : s.totalSamplesReceived - s.concealedSamples > 0;
          if (t.firstDecoded === undefined && decoded) t.firstDecoded = now;
        }
      }
      setTimeout(poll, every);
    };
    void poll();
  }, everyMs);
}

/** The page's timeline now; marks before `after` (page clock) are left out. */
export async function readTimeline(page: Page, after = 0): Promise<PageTimeline> {
  return page.evaluate((after: number) => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    const marks: Record<string, number> = {};
    for (const m of performance.getEntriesByType('mark')) {
      if (!m.name.startsWith('treffpunkt:') || m.startTime < after) continue;
      const step = m.name.slice('treffpunkt:'.length);
      marks[step] ??= m.startTime;
    }
    const rec = (window as unknown as { __receivedMedia?: { tracks: Map<string, ReceivedTrack> } }).__receivedMedia;
    return {
      timeOrigin: performance.timeOrigin,
      htmlReceived: nav?.responseEnd ?? 0,
      domContentLoaded: nav?.domContentLoadedEventEnd ?? 0,
      marks,
      tracks: rec ? [...rec.tracks.values()] : [],
    };
  }, after);
}

/** Stops the page's recorder (its polling would cost CPU in what is measured next). */
export async function stopRecording(page: Page): Promise<void> {
  await page
    .evaluate(() => (window as unknown as { __receivedMedia?: { stop(): void } }).__receivedMedia?.stop())
    .catch(() => undefined);
}

/** The first time (page clock) any track of `kind` reached `what`, or undefined. */
export function firstOf(
  t: PageTimeline,
  kind: 'audio' | 'video',
  what: 'seen' | 'firstPacket' | 'firstDecoded',
): number | undefined {
  const xs = t.tracks.filter((x) => x.kind === kind && x[what] !== undefined).map((x) => x[what]!);
  return xs.length ? Math.min(...xs) : undefined;
}
