/**
 * The chat panel: messages to everyone with name and time; Enter sends, Shift+Enter starts a new line.
 * Nothing is kept after leaving.
 */
import { attr, el, tx } from '../dom.ts';
import { icon } from '../icons.ts';
import { formatTime, onLanguageChange } from '../i18n.ts';
import type { ChatMessage } from '../meeting/types.ts';
import { panelShell } from './panel-shell.ts';
import { verifiedMark } from './tiles.ts';
import { linkify } from './chat-links.ts';

export class ChatPanel {
  readonly panel: HTMLElement;
  readonly heading: HTMLElement;
  readonly input: HTMLTextAreaElement;
  readonly #log: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #error: HTMLElement;
  readonly #times: { node: HTMLTimeElement; time: number }[] = [];

  constructor(onClose: () => void, send: (text: string) => Promise<void>) {
    const shell = panelShell('chat-panel', (s) => s.chat, onClose);
    this.panel = shell.panel;
    this.heading = shell.heading;
    // Focusable so that keyboard users can scroll it; new messages are announced by the app's live region.
    this.#log = el('ol', { class: 'messages', tabindex: '0' });
    attr(this.#log, 'aria-label', (s) => s.chatLog);
    this.#empty = el(
      'p',
      { class: 'chat-empty' },
      tx((s) => s.chatEmpty),
    );
    this.input = el('textarea', { id: 'chat-input', rows: '2', maxlength: '2000', autocomplete: 'off' });
    const sendBtn = el('button', { type: 'submit', class: 'icon-btn send', id: 'chat-send' }, icon('send'));
    attr(sendBtn, 'aria-label', (s) => s.send);
    this.#error = el('p', { class: 'field-error', role: 'alert' });
    const form = el(
      'form',
      { class: 'chat-form' },
      el(
        'label',
        { for: 'chat-input', class: 'visually-hidden' },
        tx((s) => s.messageLabel),
      ),
      this.input,
      sendBtn,
    );
    attr(this.input, 'placeholder', (s) => s.messageLabel);
    const submit = async () => {
      const text = this.input.value.trim();
      if (!text) return;
      this.#error.textContent = '';
      try {
        await send(text);
        this.input.value = '';
      } catch {
        this.#error.replaceChildren(tx((s) => s.chatFailed));
      }
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void submit();
    });
    // Enter sends, Shift+Enter starts a new line.
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void submit();
      }
    });
    shell.body.append(this.#log, this.#empty, form, this.#error);
    const off = onLanguageChange(() => {
      if (!this.panel.isConnected) return void off();
      for (const { node, time } of this.#times) node.textContent = formatTime(time);
    });
  }

  add(m: ChatMessage): void {
    this.#empty.hidden = true;
    const time = el('time', { datetime: new Date(m.time).toISOString() }, formatTime(m.time));
    this.#times.push({ node: time, time: m.time });
    const li = el(
      'li',
      { class: `msg${m.self ? ' self' : ''}`, 'data-participant-id': m.participantId },
      el(
        'div',
        { class: 'msg-head' },
        el('span', { class: 'msg-name' }, m.self ? tx((s) => s.nameYou(m.name)) : m.name),
        verifiedMark(m.verified),
        time,
      ),
      el('p', { class: 'msg-text' }, ...linkify(m.text)),
    );
    const atBottom = this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
    this.#log.append(li);
    if (atBottom || m.self) this.#log.scrollTop = this.#log.scrollHeight;
  }

  /** Forgets every message (leaving the meeting: no history is kept). */
  clear(): void {
    this.#log.replaceChildren();
    this.#times.length = 0;
    this.#empty.hidden = false;
  }
}
