/**
 * What the meeting screen tells the person in passing: toasts (a notice that goes by itself, maybe with
 * an action button) and the banners that stay while a state lasts (connection lost, no media server).
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

  constructor() {
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
    this.banners = el(
      'div',
      { class: 'banners', role: 'status', 'aria-live': 'polite' },
      this.#reconnecting,
      this.#mediaUnavailable,
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
}
