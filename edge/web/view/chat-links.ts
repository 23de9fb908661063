/**
 * Chat text with its web addresses as links (issue 15). Safe by construction: the text is only ever
 * put into text nodes; a link is made only for an address that parses as http: or https: (so no
 * `javascript:`, `data:` or look-alike scheme can become one), opens in a new tab with
 * `rel="noopener noreferrer"` (the meeting page is neither reachable from nor named to the site).
 */
import { el } from '../dom.ts';

/** Candidates: "http(s)://…" or "www.…" up to whitespace; trailing punctuation is not part of it. */
const CANDIDATE = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
const TRAILING = /[.,;:!?)\]}'’]+$/;

/** The href for a candidate, or null if it is not an http(s) address. */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(/^www\./i.test(candidate) ? `https://${candidate}` : candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** The message as text nodes and links. */
export function linkify(text: string): Node[] {
  const out: Node[] = [];
  let at = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    const raw = m[0].replace(TRAILING, '');
    const href = safeHref(raw);
    if (!href) continue;
    const start = m.index;
    if (start > at) out.push(document.createTextNode(text.slice(at, start)));
    out.push(el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, raw));
    at = start + raw.length;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}
