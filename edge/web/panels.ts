/**
 * The side panels of the meeting: the participant list (names, hand, microphone/camera state,
 * connection quality) and the chat (name and time per message; nothing kept after leaving).
 */
import { attr, avatarColour, el, initials, tx } from './dom.ts';
import { icon, qualityBars } from './icons.ts';
import { formatTime, onLanguageChange, type Quality, type Strings } from './i18n.ts';
import type { ChatMessage, Participant } from './meeting.ts';
import { setQuality } from './tiles.ts';

function panelShell(id: string, title: (s: Strings) => string, onClose: () => void): { panel: HTMLElement; heading: HTMLElement; body: HTMLElement } {
  const heading = el('h2', { id: `${id}-title`, tabindex: '-1' }, tx(title));
  const close = el('button', { type: 'button', class: 'icon-btn close' }, icon('close'));
  attr(close, 'aria-label', (s) => s.closePanel);
  close.addEventListener('click', onClose);
  const body = el('div', { class: 'panel-body' });
  const panel = el('aside', { class: 'panel', id, 'aria-labelledby': `${id}-title`, hidden: true }, el('div', { class: 'panel-head' }, heading, close), body);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') onClose();
  });
  return { panel, heading, body };
}

export interface PersonState {
  p: Participant;
  micOff: boolean;
  cameraOff: boolean;
  quality: Quality | undefined;
  speaking: boolean;
}

export class PeoplePanel {
  readonly panel: HTMLElement;
  readonly heading: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #items = new Map<string, HTMLLIElement>();
  #count = 0;

  constructor(onClose: () => void) {
    const shell = panelShell('people-panel', (s) => `${s.people} (${this.#count})`, onClose);
    this.panel = shell.panel;
    this.heading = shell.heading;
    this.#list = el('ul', { class: 'people-list' });
    shell.body.append(this.#list);
  }

  render(states: PersonState[]): void {
    this.#count = states.length;
    this.heading.replaceChildren(tx((s) => `${s.people} (${this.#count})`));
    // Raised hands first (longest waiting first), then yourself, then by name.
    const sorted = [...states].sort((a, b) => Number(b.p.handRaised) - Number(a.p.handRaised) || Number(b.p.self) - Number(a.p.self) || a.p.name.localeCompare(b.p.name));
    const seen = new Set<string>();
    for (const st of sorted) {
      seen.add(st.p.id);
      let li = this.#items.get(st.p.id);
      if (!li) {
        li = this.#item(st.p);
        this.#items.set(st.p.id, li);
      }
      li.querySelector<HTMLElement>('.hand')!.hidden = !st.p.handRaised;
      li.querySelector<HTMLElement>('.mic-off')!.hidden = !st.micOff;
      li.querySelector<HTMLElement>('.mic-on')!.hidden = st.micOff;
      li.querySelector<HTMLElement>('.cam-off')!.hidden = !st.cameraOff;
      li.classList.toggle('speaking', st.speaking);
      li.classList.toggle('hand-raised', st.p.handRaised);
      setQuality(li.querySelector<HTMLElement>('.quality')!, st.quality);
      this.#list.append(li); // moves it into sorted order
    }
    for (const [id, li] of this.#items) {
      if (!seen.has(id)) {
        li.remove();
        this.#items.delete(id);
      }
    }
  }

  #item(p: Participant): HTMLLIElement {
    const avatar = el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(p.name));
    avatar.style.backgroundColor = avatarColour(p.name);
    const state = (cls: string, name: 'hand' | 'micOff' | 'mic' | 'cameraOff', text: (s: Strings) => string) =>
      el('span', { class: `state ${cls}`, hidden: true }, icon(name), el('span', { class: 'visually-hidden' }, tx(text)));
    return el(
      'li',
      { class: 'person', 'data-participant-id': p.id },
      avatar,
      el('span', { class: 'person-name' }, p.self ? tx((s) => s.nameYou(p.name)) : p.name),
      el(
        'span',
        { class: 'person-state' },
        state('hand', 'hand', (s) => s.handRaisedState),
        state('mic-off', 'micOff', (s) => s.micOffState),
        el('span', { class: 'state mic-on', hidden: true }, icon('mic')),
        state('cam-off', 'cameraOff', (s) => s.cameraOffState),
        el('span', { class: 'state quality', hidden: true }, qualityBars(), el('span', { class: 'visually-hidden' })),
      ),
    );
  }
}

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
    this.#empty = el('p', { class: 'chat-empty' }, tx((s) => s.chatEmpty));
    this.input = el('textarea', { id: 'chat-input', rows: '2', maxlength: '2000', autocomplete: 'off' });
    const sendBtn = el('button', { type: 'submit', class: 'icon-btn send', id: 'chat-send' }, icon('send'));
    attr(sendBtn, 'aria-label', (s) => s.send);
    this.#error = el('p', { class: 'field-error', role: 'alert' });
    const form = el('form', { class: 'chat-form' }, el('label', { for: 'chat-input', class: 'visually-hidden' }, tx((s) => s.messageLabel)), this.input, sendBtn);
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
      el('div', { class: 'msg-head' }, el('span', { class: 'msg-name' }, m.self ? tx((s) => s.nameYou(m.name)) : m.name), time),
      el('p', { class: 'msg-text' }, m.text),
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
