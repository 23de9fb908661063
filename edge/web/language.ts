/** The language switch: a labelled select, German/English, remembered in localStorage (i18n.ts). */
import { attr, el } from './dom.ts';
import { icon } from './icons.ts';
import { lang, LANGUAGES, onLanguageChange, setLanguage, t } from './i18n.ts';

export function languageSelect(id: string): HTMLElement {
  const select = el('select', { id, class: 'lang-select' });
  attr(select, 'aria-label', (s) => s.language);
  for (const l of LANGUAGES) {
    // Each language is named in itself, as language pickers do.
    select.append(el('option', { value: l, lang: l }, t.languageNames[l]));
  }
  select.value = lang;
  select.addEventListener('change', () => setLanguage(select.value === 'de' ? 'de' : 'en'));
  const off = onLanguageChange(() => (select.isConnected ? (select.value = lang) : off()));
  return el('div', { class: 'lang' }, icon('globe'), select);
}
