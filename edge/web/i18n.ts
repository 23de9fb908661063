/**
 * The app's language, German or English (the texts: i18n/en.ts and i18n/de.ts). It follows the browser
 * (navigator.languages: German for the first "de*" before any "en*", English otherwise) unless the
 * person picked one in the app, which is kept in localStorage. `t` is a live binding: after
 * setLanguage() it holds the new language's strings, and onLanguageChange listeners re-render.
 */
import { de } from './i18n/de.ts';
import { en, type Lang, type Strings } from './i18n/en.ts';

export type { Lang, Quality, Strings } from './i18n/en.ts';

const STRINGS: Record<Lang, Strings> = { de, en };
const STORAGE_KEY = 'treffpunkt.lang';
export const LANGUAGES: readonly Lang[] = ['de', 'en'];

export function pickLanguage(languages: readonly string[]): Lang {
  for (const l of languages) {
    if (l.toLowerCase().startsWith('de')) return 'de';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

function stored(): Lang | undefined {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'de' || v === 'en' ? v : undefined;
  } catch {
    return undefined;
  }
}

export let lang: Lang = stored() ?? pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages);
export let t: Strings = STRINGS[lang];

const listeners = new Set<() => void>();

/** Switches the language, remembers the choice and tells every listener (which re-render their texts). */
export function setLanguage(next: Lang): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Storage may be disabled; the choice then lasts for this page only.
  }
  if (next === lang) return;
  lang = next;
  t = STRINGS[next];
  if (typeof document !== 'undefined') document.documentElement.lang = next;
  for (const l of listeners) l();
}

export function onLanguageChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "14:05" in the current language. */
export function formatTime(ms: number): string {
  return new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' }).format(ms);
}
