/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), with fake camera and
 * microphone (and a fake screen for getDisplayMedia: with --use-fake-ui-for-media-stream headless
 * Chromium picks a generated 1280×720 "screen" without a picker), a fresh profile per launch, and no
 * background traffic off the machine.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

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
  // Pages in background tabs of one browser must keep rendering and decoding at full rate.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 1,
};

export interface Chromium {
  browser: Browser;
  newPage(locale?: string, options?: BrowserContextOptions): Promise<Page>;
  close(): Promise<void>;
}

/**
 * One Chromium process; each page gets its own context (own storage, like separate people). Playwright
 * gives every launch a fresh temporary profile (the user-data-dir) and removes it on close.
 */
export async function launchChromium(opts: { args?: string[]; executablePath?: string } = {}): Promise<Chromium> {
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
  return {
    browser,
    newPage: async (locale = 'en-US', options = {}) => {
      const ctx = await browser.newContext({
        locale,
        viewport: { width: 1000, height: 700 },
        permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
        ...options,
      });
      return ctx.newPage();
    },
    close: () => browser.close(),
  };
}

/**
 * A WAV file for Chromium's fake microphone (--use-file-for-fake-audio-capture=<file>, looped): a
 * speech-like signal (a 220 Hz tone with harmonics, its loudness varying like syllables, 4 per second)
 * that is never silent for long. The default fake microphone beeps briefly once in a while, which an
 * active-speaker detector sampling a few times a second can miss for many seconds.
 */
export function speechLikeWav(path: string, seconds = 10): string {
  const rate = 48_000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const envelope = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    const tone =
      Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.25 * Math.sin(2 * Math.PI * 660 * t);
    buf.writeInt16LE(Math.round(12_000 * envelope * (tone / 1.75)), 44 + i * 2);
  }
  writeFileSync(path, buf);
  return path;
}

export interface JoinOptions {
  /** Query string for the room page, e.g. '?relay=1'. Default '?video=360': modest capture for 2 cores. */
  query?: string;
  camera?: boolean;
  microphone?: boolean;
}

/** Opens the room page, types the name, sets camera/microphone and joins; resolves when the stage shows. */
export async function joinMeeting(
  page: Page,
  baseUrl: string,
  room: string,
  name: string,
  opts: JoinOptions = {},
): Promise<void> {
  await page.goto(`${baseUrl}/${room}${opts.query ?? '?video=360'}`);
  await page.fill('#name', name);
  // The pre-join screen has opened the devices once its buttons reflect them.
  await page.waitForSelector('.prejoin[data-ready]', { timeout: 60_000 });
  if (opts.microphone === false) await page.click('#prejoin-mic');
  if (opts.camera === false) await page.click('#prejoin-camera');
  await page.click('#join');
  // Generous: on a loaded 2-core machine joining can take many seconds (it returns as soon as it is done).
  await page.waitForSelector('.meeting .stage', { timeout: 60_000 });
}

export interface InboundStat {
  participantId: string;
  producerId: string;
  consumerId: string;
  source: 'camera' | 'microphone' | 'screen';
  kind: 'audio' | 'video';
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  totalSamplesReceived: number;
  layer: number | undefined;
}

export interface SendInfo {
  source: 'camera' | 'microphone' | 'screen';
  paused: boolean;
  contentHint: string | undefined;
  width?: number;
  height?: number;
  encodings: { rid?: string; scalabilityMode?: string; maxBitrate?: number; scaleResolutionDownBy?: number }[];
}

type Treffpunkt = {
  meeting: {
    participantId: string;
    sendInfo(): SendInfo[];
    inboundStats(): Promise<InboundStat[]>;
    candidatePairs(): Promise<CandidatePair[]>;
  };
};

/** Receive statistics of the page's consumers (RTCPeerConnection getStats, inbound-rtp). */
export function inboundStats(page: Page): Promise<InboundStat[]> {
  return page.evaluate(() => (window as unknown as { treffpunkt: Treffpunkt }).treffpunkt.meeting.inboundStats());
}

/** What the page sends per source (encodings as negotiated, content hint). */
export function sendInfo(page: Page): Promise<SendInfo[]> {
  return page.evaluate(() => (window as unknown as { treffpunkt: Treffpunkt }).treffpunkt.meeting.sendInfo());
}

export function participantId(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { treffpunkt: Treffpunkt }).treffpunkt.meeting.participantId);
}

export interface CandidatePair {
  direction: 'send' | 'recv';
  policy: 'all' | 'relay';
  state: string;
  localType?: string;
  remoteType?: string;
  protocol?: string;
  relayProtocol?: string;
}

/** The selected ICE candidate pair of the page's send and receive transports. */
export function candidatePairs(page: Page): Promise<CandidatePair[]> {
  return page.evaluate(() => (window as unknown as { treffpunkt: Treffpunkt }).treffpunkt.meeting.candidatePairs());
}

/** Video frames decoded per remote participant and source ('camera' | 'screen'). */
export async function framesFrom(
  page: Page,
  participant: string,
  source: 'camera' | 'screen' = 'camera',
): Promise<number> {
  return (await inboundStats(page))
    .filter((s) => s.participantId === participant && s.source === source && s.kind === 'video')
    .reduce((n, s) => n + s.framesDecoded, 0);
}

const AXE_SOURCE = readFileSync(
  fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)),
  'utf8',
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core inside the page (WCAG 2.x A/AA rules and best practices). The source is evaluated
 * through the DevTools protocol, which the page's CSP (script-src 'self') does not apply to.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const a = (
      window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const res = await a.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
}
