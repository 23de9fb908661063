/**
 * Small DOM helpers: element creation, texts that follow the language switch, and the screen-reader
 * announcer. No inline style attributes anywhere (the CSP's style-src 'self' blocks them): layout is in
 * style.css; the few computed values are set through CSSOM (element.style.x), which the CSP allows.
 */
import { onLanguageChange, t, type Strings } from './i18n.ts';

type Child = Node | string | null | undefined | false;

/** el('div', { class: 'x' }, child, 'text'). Attributes with value undefined/false are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/**
 * Bindings re-run when the language changes, one per node and purpose (binding again replaces the
 * previous one, so state-dependent labels can simply be bound anew). Nodes are held weakly: a node
 * that is gone from the page and from the app's own references is collected, and its bindings with it.
 */
const bindings = new WeakMap<Node, Map<string, () => void>>();
const bound = new Set<WeakRef<Node>>();
onLanguageChange(() => {
  for (const ref of bound) {
    const node = ref.deref();
    if (!node) bound.delete(ref);
    else for (const update of bindings.get(node)?.values() ?? []) update();
  }
});

function bind<N extends Node>(node: N, key: string, update: () => void): N {
  update();
  let map = bindings.get(node);
  if (!map) {
    bindings.set(node, (map = new Map()));
    bound.add(new WeakRef(node));
  }
  map.set(key, update);
  return node;
}

/** A text node in the current language: tx((s) => s.join). */
export function tx(fn: (s: Strings) => string): Text {
  const n = document.createTextNode('');
  return bind(n, 'text', () => (n.data = fn(t)));
}

/** Sets an attribute (aria-label, title, placeholder…) now and on every language change. */
export function attr<E extends Element>(node: E, name: string, fn: (s: Strings) => string): E {
  return bind(node, `@${name}`, () => node.setAttribute(name, fn(t)));
}

/** Sets the text of `node` to `fn()` now and on every language change. */
export function content<E extends Element>(node: E, fn: (s: Strings) => string): E {
  return bind(node, 'text', () => (node.textContent = fn(t)));
}

const announcer = () => document.getElementById('announcer');

/** Says `text` to screen readers through the polite live region (and nothing visible). */
export function announce(text: string): void {
  const a = announcer();
  if (!a) return;
  // A fresh node per message: screen readers announce additions, even of a text equal to the last one.
  const p = el('p', {}, text);
  a.append(p);
  while (a.childElementCount > 5) a.firstElementChild!.remove();
  setTimeout(() => p.remove(), 10_000);
}

/** Two letters for an avatar: "Ada Lovelace" → "AL", "grace" → "G". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters =
    parts.length > 1 ? [parts[0]!, parts[parts.length - 1]!].map((p) => [...p][0]) : [[...(parts[0] ?? '?')][0]];
  return letters.join('').toUpperCase();
}

/** A stable background colour per name, from a palette that keeps white text above 4.5:1 contrast. */
const AVATAR_COLOURS = ['#2e6b4f', '#35608f', '#7a4b91', '#8c4a3a', '#50618a', '#6b5d2a', '#2f6f73', '#8a3f62'];
export function avatarColour(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return AVATAR_COLOURS[h % AVATAR_COLOURS.length]!;
}
