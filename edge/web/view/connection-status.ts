/**
 * How the connection to the room and our media are doing: banners and notices for the person, and the
 * same facts as data-* attributes on the meeting element for tests and diagnostics (docs/web-app.md,
 * "When the connection drops"): data-connection, data-resumes, data-rejoins, data-media-moves,
 * data-media-unavailable, data-media, data-media-tried (the ICE paths tried, media-paths.ts).
 */
import type { EventData } from '../../../shared/signaling.ts';
import type { IcePath } from '../meeting/media-paths.ts';
import { announce } from '../dom.ts';
import { t } from '../i18n.ts';
import type { MediaPath } from '../meeting/types.ts';
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
    this.#data.rejoins = '0';
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

  /** The room had forgotten us and we joined it again by ourselves (`count`: how often so far). */
  rejoined(count: number): void {
    this.#data.rejoins = String(count);
    this.#notices.toast((s) => s.rejoinedNotice);
  }

  mediaMoved(count: number): void {
    this.#data.mediaMoves = String(count);
    this.#notices.toast((s) => s.mediaMoved);
  }

  /**
   * How media flows (media-session.ts tells each change once): through the relay (said only once a
   * relayed pair is in use), not at all (a banner that stays, with Retry and what was tried), being
   * tried again, or direct again.
   */
  mediaPath(kind: MediaPath, tried: readonly string[], paths: readonly IcePath[]): void {
    const before = this.#data.media;
    this.#data.mediaTried = paths.join(' ');
    this.#notices.showMediaFailed(kind === 'mediaFailed' ? tried : null);
    if (kind === 'direct') delete this.#data.media;
    else this.#data.media = kind;
    if (kind === 'relay') this.#notices.toast((s) => s.relayNotice);
    else if (kind === 'retrying') this.#notices.toast((s) => s.mediaRetrying);
    else if (kind === 'direct' && (before === 'mediaFailed' || before === 'retrying'))
      this.#notices.toast((s) => s.mediaBack);
  }
}
