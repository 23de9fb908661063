/**
 * What the meeting screen tells the person in passing: toasts (a notice that goes by itself, maybe with
 * an action button) and the banners that stay while a state lasts (connection lost, no media server,
 * media blocked: that one with "Retry" and the diagnostics one click away, since a fading toast left
 * black tiles and no explanation once it was gone; issue 13).
 * Both regions are polite live regions, so screen readers hear them too.
 */
import { el, tx } from '../dom.ts';
import type { Strings } from '../i18n.ts';

export interface ToastAction {
  label: (s: Strings) => string;
  run(): void;
}

export class Notices {
  readonly toasts: HTMLElement;
  readonly banners: HTMLElement;
  readonly #reconnecting: HTMLElement;
  readonly #mediaUnavailable: HTMLElement;
  readonly #mediaFailed: HTMLElement;
  readonly #tried: HTMLElement;

  /** `retry`: what the media banner's "Retry" button does. */
  constructor(retry: () => void) {
    this.toasts = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    this.#reconnecting = el(
      'p',
      { class: 'banner reconnecting', id: 'reconnecting-banner', hidden: true },
      el('span', { class: 'spinner', 'aria-hidden': 'true' }),
      tx((s) => s.reconnecting),
    );
    this.#mediaUnavailable = el(
      'p',
      { class: 'banner media-unavailable', id: 'media-banner', hidden: true },
      tx((s) => s.mediaUnavailable),
    );
    const retryButton = el(
      'button',
      { type: 'button', class: 'btn small', id: 'media-retry' },
      tx((s) => s.retry),
    );
    retryButton.addEventListener('click', retry);
    this.#tried = el('pre', { class: 'media-tried', id: 'media-tried' });
    this.#mediaFailed = el(
      'div',
      { class: 'banner media-failed', id: 'media-failed-banner', hidden: true, role: 'alert' },
      el(
        'p',
        {},
        tx((s) => s.mediaBlocked),
      ),
      el(
        'div',
        { class: 'banner-actions' },
        retryButton,
        el(
          'details',
          { class: 'media-details' },
          el(
            'summary',
            {},
            tx((s) => s.mediaDetails),
          ),
          this.#tried,
        ),
      ),
    );
    this.banners = el(
      'div',
      { class: 'banners', role: 'status', 'aria-live': 'polite' },
      this.#reconnecting,
      this.#mediaUnavailable,
      this.#mediaFailed,
    );
  }

  /** A notice for 8 s; with an action (a button that also dismisses it), 15 s. */
  toast(text: (s: Strings) => string, action?: ToastAction): void {
    const node = el('p', { class: 'toast' }, tx(text));
    if (action) {
      const b = el('button', { type: 'button', class: 'btn small toast-action' }, tx(action.label));
      b.addEventListener('click', () => {
        node.remove();
        action.run();
      });
      node.append(b);
    }
    this.toasts.append(node);
    setTimeout(() => node.remove(), action ? 15_000 : 8_000);
  }

  showReconnecting(shown: boolean): void {
    this.#reconnecting.hidden = !shown;
  }

  showMediaUnavailable(shown: boolean): void {
    this.#mediaUnavailable.hidden = !shown;
  }

  /** Media is blocked (`tried`: what ICE tried, for the details), or not any more (null). */
  showMediaFailed(tried: readonly string[] | null): void {
    this.#mediaFailed.hidden = tried === null;
    if (tried) this.#tried.textContent = tried.join('\n') || '—';
  }
}
