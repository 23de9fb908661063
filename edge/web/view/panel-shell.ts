/**
 * The frame both side panels share: a heading (focusable, so opening a panel can move focus there), a
 * close button, and Escape to close.
 */
import { attr, el, tx } from '../dom.ts';
import type { Strings } from '../i18n.ts';
import { icon } from '../icons.ts';

export function panelShell(
  id: string,
  title: (s: Strings) => string,
  onClose: () => void,
): { panel: HTMLElement; heading: HTMLElement; body: HTMLElement } {
  const heading = el('h2', { id: `${id}-title`, tabindex: '-1' }, tx(title));
  const close = el('button', { type: 'button', class: 'icon-btn close' }, icon('close'));
  attr(close, 'aria-label', (s) => s.closePanel);
  close.addEventListener('click', onClose);
  const body = el('div', { class: 'panel-body' });
  const panel = el(
    'aside',
    { class: 'panel', id, 'aria-labelledby': `${id}-title`, hidden: true },
    el('div', { class: 'panel-head' }, heading, close),
    body,
  );
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') onClose();
  });
  return { panel, heading, body };
}
