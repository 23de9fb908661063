/**
 * The top bar: the room's name, how many are here and whether the room is locked; the invite link,
 * the grid/speaker switch and the language.
 */
import { attr, content, el, tx } from '../dom.ts';
import { icon } from '../icons.ts';
import { languageSelect } from '../language.ts';
import type { View } from './stage.ts';

export class TopBar {
  readonly el: HTMLElement;
  readonly #count: HTMLElement;
  readonly #lockState: HTMLElement;
  readonly #view: HTMLButtonElement;

  constructor(room: string, onClick: { invite(): void; toggleView(): void }) {
    this.#count = el('span', { class: 'count' });
    this.#lockState = el(
      'span',
      { class: 'lock-state', id: 'lock-state', hidden: true },
      icon('lock'),
      el(
        'span',
        { class: 'top-label' },
        tx((s) => s.roomLockedState),
      ),
    );
    attr(this.#lockState, 'title', (s) => s.roomLockedState);
    this.#view = el('button', { type: 'button', id: 'view-toggle', class: 'top-btn' });
    const invite = el(
      'button',
      { type: 'button', id: 'invite', class: 'top-btn' },
      icon('link'),
      el(
        'span',
        { class: 'top-label' },
        tx((s) => s.copyInvite),
      ),
    );
    attr(invite, 'aria-label', (s) => s.copyInvite);
    this.#view.addEventListener('click', () => onClick.toggleView());
    invite.addEventListener('click', () => onClick.invite());
    this.el = el(
      'header',
      { class: 'topbar' },
      el('div', { class: 'room-info' }, el('h1', { class: 'room-name' }, room), this.#count, this.#lockState),
      el('div', { class: 'top-actions' }, invite, this.#view, languageSelect('lang-meeting')),
    );
  }

  setCount(count: number): void {
    content(this.#count, (s) => s.participants(count));
  }

  setLocked(locked: boolean): void {
    this.#lockState.hidden = !locked;
  }

  /** The switch offers the other view. */
  renderView(view: View): void {
    const toSpeaker = view === 'grid';
    this.#view.replaceChildren(
      icon(toSpeaker ? 'speaker' : 'grid'),
      el(
        'span',
        { class: 'top-label' },
        tx((s) => (toSpeaker ? s.speakerView : s.gridView)),
      ),
    );
    attr(this.#view, 'aria-label', (s) => (toSpeaker ? s.switchToSpeaker : s.switchToGrid));
  }
}
