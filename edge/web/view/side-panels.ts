/**
 * The two side panels, participants and chat: at most one open, focus moved into a panel when it
 * opens and back to its toolbar button when it closes, and the count of chat messages that came while
 * the chat was closed.
 */
import { announce } from '../dom.ts';
import { t } from '../i18n.ts';
import type { ChatMessage } from '../meeting/types.ts';
import type { ChatPanel } from './chat-panel.ts';
import type { PeoplePanel } from './people-panel.ts';
import type { Panel } from './toolbar.ts';

export interface SidePanelHooks {
  /** Which panel is open (or none), or the unread count, changed. */
  changed(open: Panel | null): void;
  /** A panel closed: focus goes back to its button. */
  closed(panel: Panel): void;
}

export class SidePanels {
  #open: Panel | null = null;
  #unread = 0;
  readonly #people: PeoplePanel;
  readonly #chat: ChatPanel;
  readonly #hooks: SidePanelHooks;

  constructor(people: PeoplePanel, chat: ChatPanel, hooks: SidePanelHooks) {
    this.#people = people;
    this.#chat = chat;
    this.#hooks = hooks;
  }

  get open(): Panel | null {
    return this.#open;
  }

  get unread(): number {
    return this.#unread;
  }

  /** Opens `panel`, or closes it if it is open (null: close whichever is). */
  toggle(panel: Panel | null): void {
    const next = this.#open === panel ? null : panel;
    const previous = this.#open;
    this.#open = next;
    this.#people.panel.hidden = next !== 'people';
    this.#chat.panel.hidden = next !== 'chat';
    if (next === 'chat') {
      this.#unread = 0;
      this.#chat.input.focus();
    } else if (next === 'people') {
      this.#people.heading.focus();
    } else if (previous) {
      this.#hooks.closed(previous);
    }
    this.#hooks.changed(next);
  }

  /** A chat message: shown, announced if from someone else, and counted while the chat is closed. */
  onChat(m: ChatMessage): void {
    this.#chat.add(m);
    if (m.self) return;
    announce(t.chatFrom(m.name, m.text));
    if (this.#open !== 'chat') {
      this.#unread++;
      this.#hooks.changed(this.#open);
    }
  }
}
