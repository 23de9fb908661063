/**
 * Debian's Firefox ESR (never a downloaded browser) driven by puppeteer-core over WebDriver BiDi, with a
 * fake camera and microphone, no permission prompts, a fresh temporary profile per launch (puppeteer
 * makes and removes it) and every background service that would reach the internet switched off.
 *
 * Firefox pages are wrapped (`meetingPage`) so that the helpers of browser.ts (joinMeeting, inboundStats,
 * framesFrom …), written for playwright's Page, drive them too: they use only goto, fill, click,
 * waitForSelector, getAttribute and evaluate.
 */
import puppeteer, { type Browser, type Page as PuppeteerPage } from 'puppeteer-core';
import type { MeetingPage } from './browser.ts';

export const FIREFOX = process.env.TREFFPUNKT_FIREFOX ?? '/usr/bin/firefox-esr';

/**
 * Preferences on top of puppeteer's test profile (@puppeteer/browsers `defaultProfilePreferences`, which
 * already turns off updates, safe browsing, telemetry uploads, search updates and remote settings).
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  // Media: a generated camera picture and tone, no prompts, autoplay of remote audio.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Background services that would try the internet.
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.aboutHomeSnippets.updateUrl': '',
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.archive.enabled': false,
  'datareporting.usage.uploadEnabled': false,
  'app.shield.optoutstudies.enabled': false,
  'app.normandy.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'services.sync.enabled': false,
  'identity.fxaccounts.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.discovery.enabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'media.gmp-widevinecdm.enabled': false,
  // Pages in background tabs keep their timers (polling, stats) at full rate.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

/** A Firefox page for browser.ts's helpers; `close` ends its browser context (its storage too). */
export type FirefoxPage = MeetingPage & { puppeteer: PuppeteerPage; close(): Promise<void> };

export interface Firefox {
  browser: Browser;
  newPage(): Promise<FirefoxPage>;
  close(): Promise<void>;
}

/**
 * One Firefox process; every page its own browser context (own storage, like separate people).
 * `headless: false` needs a display (DISPLAY, e.g. Xvfb): headless Firefox has no screen to capture.
 */
export async function launchFirefox(opts: { headless?: boolean; env?: Record<string, string> } = {}): Promise<Firefox> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    protocol: 'webDriverBiDi',
    headless: opts.headless ?? true,
    extraPrefsFirefox: FIREFOX_PREFS,
    defaultViewport: { width: 1000, height: 700 },
    env: { ...process.env, ...opts.env },
    timeout: 60_000,
  });
  return {
    browser,
    newPage: async () => {
      const ctx = await browser.createBrowserContext();
      return meetingPage(await ctx.newPage());
    },
    close: () => browser.close(),
  };
}

/** A puppeteer page with the part of playwright's Page that browser.ts's helpers use. */
export function meetingPage(page: PuppeteerPage): FirefoxPage {
  page.setDefaultTimeout(60_000);
  return {
    puppeteer: page,
    close: () => page.browserContext().close(),
    goto: (url) => page.goto(url),
    fill: (selector, value) => page.locator(selector).fill(value),
    click: (selector) => page.click(selector),
    waitForSelector: (selector, o) =>
      page.waitForSelector(selector, o?.timeout === undefined ? {} : { timeout: o.timeout }),
    getAttribute: (selector, name) => page.$eval(selector, (el, n) => el.getAttribute(n), name).catch(() => null),
    evaluate: (fn) => page.evaluate(fn),
  };
}
