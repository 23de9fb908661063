/**
 * How the connection to the room and our media are doing: banners and notices for the person, and the
 * same facts as data-* attributes on the meeting element for tests and diagnostics (docs/web-app.md,
 * "When the connection drops"): data-connection, data-resumes, data-media-moves, data-media-unavailable,
 * data-media, data-media-tried.
 */
import type { EventData } from '../../../shared/signaling.ts';
import type { MediaPath } from '../meeting/media-paths.ts';
import { announce } from '../dom.ts';
import { t } from '../i18n.ts';
import type { Notices } from './notices.ts';

export class ConnectionStatus {
  readonly #data: DOMStringMap;
  readonly #notices: Notices;

  constructor(meetingEl: HTMLElement, notices: Notices) {
    this.#data = meetingEl.dataset;
    this.#notices = notices;
  }

  /** Just joined: connected, nothing resumed or moved yet. */
  joined(): void {
    this.#data.connection = 'connected';
    this.#data.resumes = '0';
    this.#data.mediaMoves = '0';
  }

  /** The socket dropped, or it was resumed (`resumes`: how often so far). */
  connection(state: 'reconnecting' | 'connected', resumes: number): void {
    this.#data.connection = state;
    this.#notices.showReconnecting(state !== 'connected');
    if (state !== 'connected') return;
    this.#data.resumes = String(resumes);
    announce(t.reconnected);
  }

  /** No media node can take us (the banner stays until null: our media moved to a node). */
  mediaUnavailable(code: EventData<'mediaUnavailable'>['code'] | null): void {
    this.#notices.showMediaUnavailable(code !== null);
    if (code === null) delete this.#data.mediaUnavailable;
    else this.#data.mediaUnavailable = code;
  }

  mediaMoved(count: number): void {
    this.#data.mediaMoves = String(count);
    this.#notices.toast((s) => s.mediaMoved);
  }

  /**
   * How media flows after a transport failed: through the relay now, or not at all ('mediaFailed': the
   * network blocks media). data-media-tried lists the paths tried (media-paths.ts), space-separated.
   */
  mediaPath(kind: 'relay' | 'mediaFailed', tried: readonly MediaPath[]): void {
    this.#data.media = kind;
    this.#data.mediaTried = tried.join(' ');
    this.#notices.toast(kind === 'relay' ? (s) => s.relayNotice : (s) => s.mediaFailed);
  }
}
