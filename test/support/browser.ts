/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), with fake camera and
 * microphone, a fresh profile per launch, and no background traffic off the machine.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TREFFPUNKT_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * One Chromium process; each page gets its own context (own storage, like separate people). Playwright
 * gives every launch a fresh temporary profile (the user-data-dir) and removes it on close.
 */
export async function launchChromium(): Promise<{ browser: Browser; newPage(locale?: string): Promise<Page>; close(): Promise<void> }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return {
    browser,
    newPage: async (locale = 'en-US') => {
      const ctx = await browser.newContext({ locale, viewport: { width: 1000, height: 700 }, permissions: ['camera', 'microphone'] });
      return ctx.newPage();
    },
    close: () => browser.close(),
  };
}

/** Opens the room page, types the name and joins; resolves when the meeting grid shows. */
export async function joinMeeting(page: Page, baseUrl: string, room: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/${room}`);
  await page.fill('#name', name);
  await page.click('#join');
  await page.waitForSelector('.meeting .grid', { timeout: 20_000 });
}

export interface InboundStat {
  participantId: string;
  kind: 'audio' | 'video';
  packetsReceived: number;
  framesDecoded: number;
  totalSamplesReceived: number;
}

/** Receive statistics of the page's consumers (RTCPeerConnection getStats, inbound-rtp). */
export function inboundStats(page: Page): Promise<InboundStat[]> {
  return page.evaluate(() => (window as unknown as { treffpunkt: { meeting: { inboundStats(): Promise<InboundStat[]> } } }).treffpunkt.meeting.inboundStats());
}
