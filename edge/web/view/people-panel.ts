/**
 * The participant list: names, hand, microphone/camera state, connection quality; for moderators also
 * the moderation controls (see PeoplePanel).
 */
import { attr, avatarColour, el, initials, tx } from '../dom.ts';
import { icon, qualityBars } from '../icons.ts';
import type { Quality, Strings } from '../i18n.ts';
import type { LobbyEntry, Participant } from '../meeting/types.ts';
import { panelShell } from './panel-shell.ts';
import { setQuality, verifiedMark } from './tiles.ts';
import { personName } from './person-name.ts';

export interface PersonState {
  p: Participant;
  micOff: boolean;
  cameraOff: boolean;
  quality: Quality | undefined;
  speaking: boolean;
}

/** What a moderator can do from the list; the edge checks each (FORBIDDEN for everyone else). */
export interface ModerationActions {
  mute(p: Participant, source: 'microphone' | 'camera'): void;
  askToUnmute(p: Participant, source: 'microphone' | 'camera'): void;
  remove(p: Participant): void;
  admit(entry: LobbyEntry): void;
  refuse(entry: LobbyEntry): void;
  lock(locked: boolean): void;
  endMeeting(): void;
}

/** The room as the list shows it: whether we moderate, whether it is locked, who waits in the lobby. */
export interface RoomState {
  moderator: boolean;
  locked: boolean;
  lobby: LobbyEntry[];
}

type PersonAction = 'mute-microphone' | 'mute-camera' | 'ask-microphone' | 'ask-camera' | 'remove';

/**
 * The participant list. Moderators also get, per other participant, an actions menu (mute microphone,
 * camera off, ask to unmute, remove), the lobby with admit/refuse, and the room actions (lock, end for
 * everyone). Nobody else gets any of these elements.
 */
export class PeoplePanel {
  readonly panel: HTMLElement;
  readonly heading: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #items = new Map<string, HTMLLIElement>();
  readonly #actions: ModerationActions;
  readonly #moderation: HTMLElement;
  readonly #lobby: HTMLElement;
  readonly #lobbyList: HTMLUListElement;
  readonly #lobbyHeading: HTMLElement;
  readonly #lockBtn: HTMLButtonElement;
  #count = 0;
  #room: RoomState = { moderator: false, locked: false, lobby: [] };
  /** The open actions menu: its person's id, and the menu element. */
  #menu: { id: string; el: HTMLElement; button: HTMLButtonElement } | undefined;

  constructor(onClose: () => void, actions: ModerationActions) {
    const shell = panelShell('people-panel', (s) => `${s.people} (${this.#count})`, onClose);
    this.panel = shell.panel;
    this.heading = shell.heading;
    this.#actions = actions;
    this.#list = el('ul', { class: 'people-list' });

    this.#lobbyHeading = el('h3', { class: 'section-title' });
    this.#lobbyList = el('ul', { class: 'lobby-list' });
    this.#lobby = el(
      'section',
      { class: 'lobby', id: 'lobby', 'aria-labelledby': 'lobby-title', hidden: true },
      this.#lobbyHeading,
      this.#lobbyList,
    );
    this.#lobbyHeading.id = 'lobby-title';

    this.#lockBtn = el('button', {
      type: 'button',
      class: 'btn secondary small',
      id: 'lock-room',
      'aria-pressed': 'false',
      'aria-describedby': 'lock-hint',
    });
    this.#lockBtn.addEventListener('click', () => this.#actions.lock(!this.#room.locked));
    const endBtn = el(
      'button',
      { type: 'button', class: 'btn danger small', id: 'end-meeting' },
      tx((s) => s.endForAll),
    );
    endBtn.addEventListener('click', () => this.#actions.endMeeting());
    this.#moderation = el(
      'section',
      { class: 'room-actions', id: 'room-actions', 'aria-labelledby': 'room-actions-title', hidden: true },
      el(
        'h3',
        { class: 'section-title', id: 'room-actions-title' },
        tx((s) => s.roomActions),
      ),
      el('div', { class: 'room-buttons' }, this.#lockBtn, endBtn),
      el(
        'p',
        { class: 'hint', id: 'lock-hint' },
        tx((s) => s.lockHint),
      ),
    );
    shell.body.append(this.#lobby, this.#list, this.#moderation);

    // A menu closes on Escape (in its keydown handler) and on a click anywhere else.
    document.addEventListener('click', (e) => {
      if (this.#menu && !this.#menu.el.contains(e.target as Node) && !this.#menu.button.contains(e.target as Node))
        this.#closeMenu(false);
    });
  }

  render(states: PersonState[], room: RoomState = this.#room): void {
    this.#room = room;
    this.#count = states.length;
    this.heading.replaceChildren(tx((s) => `${s.people} (${this.#count})`));
    // Raised hands first (longest waiting first), then yourself, then by name.
    const sorted = [...states].sort(
      (a, b) =>
        Number(b.p.handRaised) - Number(a.p.handRaised) ||
        Number(b.p.self) - Number(a.p.self) ||
        a.p.name.localeCompare(b.p.name),
    );
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
      li.querySelector<HTMLElement>('.role')!.hidden = st.p.role !== 'moderator';
      li.classList.toggle('speaking', st.speaking);
      li.querySelector<HTMLElement>('.state.speaking')!.hidden = !st.speaking;
      li.classList.toggle('hand-raised', st.p.handRaised);
      setQuality(li.querySelector<HTMLElement>('.quality')!, st.quality);
      this.#renderActions(li, st);
      if (li.parentElement !== this.#list || this.#list.children[seen.size - 1] !== li)
        this.#list.insertBefore(li, this.#list.children[seen.size - 1] ?? null);
    }
    for (const [id, li] of this.#items) {
      if (!seen.has(id)) {
        if (this.#menu?.id === id) this.#closeMenu(false);
        li.remove();
        this.#items.delete(id);
      }
    }
    this.#renderRoom();
  }

  #renderRoom(): void {
    const { moderator, locked, lobby } = this.#room;
    this.#moderation.hidden = !moderator;
    this.#lockBtn.replaceChildren(
      icon(locked ? 'unlock' : 'lock'),
      el(
        'span',
        {},
        tx((s) => (locked ? s.unlockRoom : s.lockRoom)),
      ),
    );
    this.#lockBtn.setAttribute('aria-pressed', String(locked));
    this.#lobby.hidden = !moderator || lobby.length === 0;
    this.#lobbyHeading.replaceChildren(tx((s) => s.lobbyHeading(lobby.length)));
    this.#lobbyList.replaceChildren(
      ...(moderator ? lobby : []).map((entry) => {
        const admit = el(
          'button',
          { type: 'button', class: 'btn small admit' },
          tx((s) => s.admit),
        );
        attr(admit, 'aria-label', (s) => s.admitName(entry.name));
        admit.addEventListener('click', () => this.#actions.admit(entry));
        const refuse = el(
          'button',
          { type: 'button', class: 'btn secondary small refuse' },
          tx((s) => s.refuse),
        );
        attr(refuse, 'aria-label', (s) => s.refuseName(entry.name));
        refuse.addEventListener('click', () => this.#actions.refuse(entry));
        return el(
          'li',
          { class: 'waiting', 'data-lobby-id': entry.id },
          el('span', { class: 'person-name' }, entry.name),
          verifiedMark(entry.verified),
          el('span', { class: 'lobby-buttons' }, admit, refuse),
        );
      }),
    );
  }

  /** The actions button of a person: there for moderators and others than themselves only. */
  #renderActions(li: HTMLLIElement, st: PersonState): void {
    const want = this.#room.moderator && !st.p.self;
    let btn = li.querySelector<HTMLButtonElement>('.person-actions');
    if (!want) {
      if (this.#menu?.id === st.p.id) this.#closeMenu(false);
      btn?.remove();
      return;
    }
    if (!btn) {
      btn = el(
        'button',
        { type: 'button', class: 'icon-btn person-actions', 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
        icon('more'),
      );
      attr(btn, 'aria-label', (s) => s.personActions(st.p.name));
      const b = btn;
      btn.addEventListener('click', () =>
        this.#menu?.id === st.p.id ? this.#closeMenu(true) : this.#openMenu(li, b, st.p),
      );
      li.append(btn);
    }
    li.dataset.micOff = String(st.micOff);
    li.dataset.cameraOff = String(st.cameraOff);
    if (this.#menu?.id === st.p.id) this.#fillMenu(this.#menu.el, st.p, li);
  }

  #openMenu(li: HTMLLIElement, button: HTMLButtonElement, p: Participant): void {
    this.#closeMenu(false);
    const menu = el('div', { class: 'person-menu', role: 'menu', id: `menu-${p.id}` });
    attr(menu, 'aria-label', (s) => s.personActions(p.name));
    this.#fillMenu(menu, p, li);
    menu.addEventListener('keydown', (e) => {
      const items = [...menu.querySelectorAll<HTMLButtonElement>('button:not(:disabled)')];
      const i = items.indexOf(document.activeElement as HTMLButtonElement);
      if (e.key === 'Escape') {
        // Only the menu closes (focus back to its button), not the panel around it.
        e.stopPropagation();
        this.#closeMenu(true);
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
      } else if (e.key === 'Tab') {
        this.#closeMenu(false);
      }
    });
    li.append(menu);
    button.setAttribute('aria-expanded', 'true');
    button.setAttribute('aria-controls', menu.id);
    this.#menu = { id: p.id, el: menu, button };
    menu.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
  }

  #fillMenu(menu: HTMLElement, p: Participant, li: HTMLLIElement): void {
    const micOff = li.dataset.micOff === 'true';
    const cameraOff = li.dataset.cameraOff === 'true';
    const item = (action: PersonAction, label: (s: Strings) => string, disabled: boolean, run: () => void) => {
      const b = el(
        'button',
        {
          type: 'button',
          role: 'menuitem',
          'data-action': action,
          class: action === 'remove' ? 'danger' : '',
          disabled,
        },
        tx(label),
      );
      b.addEventListener('click', () => {
        this.#closeMenu(true);
        run();
      });
      return b;
    };
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.action;
    menu.replaceChildren(
      item(
        'mute-microphone',
        (s) => s.muteTheirMic,
        micOff,
        () => this.#actions.mute(p, 'microphone'),
      ),
      item(
        'mute-camera',
        (s) => s.turnOffTheirCamera,
        cameraOff,
        () => this.#actions.mute(p, 'camera'),
      ),
      item(
        'ask-microphone',
        (s) => s.askToUnmuteMic,
        !micOff,
        () => this.#actions.askToUnmute(p, 'microphone'),
      ),
      item(
        'ask-camera',
        (s) => s.askToTurnOnCamera,
        !cameraOff,
        () => this.#actions.askToUnmute(p, 'camera'),
      ),
      item(
        'remove',
        (s) => s.removeFromMeeting,
        false,
        () => this.#actions.remove(p),
      ),
    );
    // A refresh while the menu is open keeps the keyboard focus where it was.
    if (focused) menu.querySelector<HTMLButtonElement>(`[data-action="${focused}"]:not(:disabled)`)?.focus();
  }

  #closeMenu(refocus: boolean): void {
    const m = this.#menu;
    if (!m) return;
    this.#menu = undefined;
    m.el.remove();
    m.button.setAttribute('aria-expanded', 'false');
    m.button.removeAttribute('aria-controls');
    if (refocus && m.button.isConnected) m.button.focus();
  }

  #item(p: Participant): HTMLLIElement {
    const avatar = el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(p.name));
    avatar.style.backgroundColor = avatarColour(p.name);
    const state = (
      cls: string,
      name: 'hand' | 'micOff' | 'mic' | 'cameraOff' | 'speaking',
      text: (s: Strings) => string,
    ) =>
      el(
        'span',
        { class: `state ${cls}`, hidden: true },
        icon(name),
        el('span', { class: 'visually-hidden' }, tx(text)),
      );
    return el(
      'li',
      { class: 'person', 'data-participant-id': p.id },
      avatar,
      personName('person-name', () => p.name, p.self),
      verifiedMark(p.verified),
      el(
        'span',
        { class: 'role', hidden: true },
        tx((s) => s.moderatorLabel),
      ),
      el(
        'span',
        { class: 'person-state' },
        state('speaking', 'speaking', (s) => s.speakingState),
        state('hand', 'hand', (s) => s.handRaisedState),
        state('mic-off', 'micOff', (s) => s.micOffState),
        el('span', { class: 'state mic-on', hidden: true }, icon('mic')),
        state('cam-off', 'cameraOff', (s) => s.cameraOffState),
        el('span', { class: 'state quality', hidden: true }, qualityBars(), el('span', { class: 'visually-hidden' })),
      ),
    );
  }
}
