/**
 * Can this browser hold a meeting at all? Checked before the pre-join screen, so that a browser without
 * WebRTC is told so in plain words and never joins: a join that fails after the room has admitted us
 * would show a cryptic error ("Can't find variable: RTCPeerConnection", WebKitGTK) and, before the
 * leave on failure, leave a ghost tile in everyone else's meeting (issue 15).
 *
 * Missing camera/microphone access (getUserMedia; e.g. plain http off localhost) is not fatal: the
 * pre-join screen says so and the person can still join to watch and listen.
 */
import { detectDevice } from 'mediasoup-client';
import { el, tx } from './dom.ts';
import { languageSelect } from './language.ts';

/** The browser features a meeting cannot do without, by the name a developer would look for. */
export function missingFeatures(): string[] {
  const g = globalThis as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof g.WebSocket !== 'function') missing.push('WebSocket');
  if (typeof g.RTCPeerConnection !== 'function') missing.push('RTCPeerConnection');
  else if (typeof (g.RTCPeerConnection as typeof RTCPeerConnection).prototype.addTransceiver !== 'function')
    missing.push('RTCPeerConnection.addTransceiver');
  if (typeof g.RTCRtpSender !== 'function') missing.push('RTCRtpSender');
  // mediasoup-client needs a handler for this engine (Chromium, Firefox, Safari and their relatives).
  if (missing.length === 0 && detectDevice() === undefined) missing.push('mediasoup-client handler');
  return missing;
}

/** The screen in place of the pre-join screen: what is wrong and which browsers work, nothing to join. */
export function unsupportedScreen(root: HTMLElement, room: string, missing: readonly string[]): void {
  root.replaceChildren(
    el(
      'div',
      { class: 'prejoin unsupported', id: 'unsupported-browser' },
      el(
        'header',
        { class: 'brand-bar' },
        el(
          'span',
          { class: 'brand' },
          tx((s) => s.title),
        ),
        languageSelect('lang-unsupported'),
      ),
      el(
        'section',
        { class: 'card', role: 'alert' },
        el(
          'h1',
          {},
          tx((s) => s.unsupportedTitle),
        ),
        el(
          'p',
          { class: 'room-line' },
          tx((s) => s.roomHeading(room)),
        ),
        el(
          'p',
          {},
          tx((s) => s.unsupportedText),
        ),
        el(
          'p',
          {},
          tx((s) => s.unsupportedBrowsers),
        ),
        el(
          'details',
          {},
          el(
            'summary',
            {},
            tx((s) => s.unsupportedDetails),
          ),
          el('p', { class: 'hint', id: 'unsupported-missing' }, missing.join(', ')),
        ),
      ),
    ),
  );
  document.title = `${room} – Treffpunkt`;
}
