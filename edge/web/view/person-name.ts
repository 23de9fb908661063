/**
 * A person's name as shown in tiles and the participant list: the name itself is what gets cut with
 * "…" when space is short, never the "(You)" after it (issue 15: it was cut first), and the whole
 * label is the tooltip.
 */
import { attr, el, tx } from '../dom.ts';
import type { Strings } from '../i18n.ts';

export function personName(cls: string, name: (s: Strings) => string, self: boolean): HTMLElement {
  const node = el(
    'span',
    { class: `${cls} person-label` },
    el('span', { class: 'name-part' }, tx(name)),
    self
      ? el(
          'span',
          { class: 'you-part' },
          tx((s) => ` ${s.youSuffix}`),
        )
      : null,
  );
  attr(node, 'title', (s) => (self ? s.nameYou(name(s)) : name(s)));
  return node;
}
