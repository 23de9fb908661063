/**
 * The toolbar at the bottom: microphone, camera, screen share and hand on the left; participants,
 * chat and leave on the right. It shows state (icons, labels, pressed, badges) and reports clicks;
 * what a click does is the room view's business.
 */
import { attr, el } from '../dom.ts';
import type { Strings } from '../i18n.ts';
import { icon, type IconName } from '../icons.ts';

export type Panel = 'people' | 'chat';
type Control = 'mic' | 'camera' | 'screen' | 'hand' | 'people' | 'chat' | 'leave';

/** What the toolbar shows. */
export interface ToolbarState {
  micOn: boolean;
  cameraOn: boolean;
  sharing: boolean;
  handRaised: boolean;
  panel: Panel | null;
  unreadChat: number;
}

function toolbarButton(id: string, iconName: IconName, cls = ''): HTMLButtonElement {
  return el(
    'button',
    { type: 'button', id, class: `tb${cls ? ` ${cls}` : ''}`, 'data-icon': iconName },
    icon(iconName),
  );
}

export class Toolbar {
  readonly el: HTMLElement;
  readonly #btn: Record<Control, HTMLButtonElement>;
  readonly #chatBadge: HTMLElement;
  readonly #lobbyBadge: HTMLElement;

  constructor(onClick: Record<Control, () => void>) {
    this.#btn = {
      mic: toolbarButton('mic-toggle', 'mic'),
      camera: toolbarButton('camera-toggle', 'camera'),
      screen: toolbarButton('screen-toggle', 'screen'),
      hand: toolbarButton('hand-toggle', 'hand'),
      people: toolbarButton('people-toggle', 'people'),
      chat: toolbarButton('chat-toggle', 'chat'),
      leave: toolbarButton('leave', 'leave', 'danger'),
    };
    const b = this.#btn;
    this.#chatBadge = el('span', { class: 'badge', hidden: true });
    this.#lobbyBadge = el('span', { class: 'badge lobby-badge', hidden: true });
    b.chat.append(this.#chatBadge);
    b.people.append(this.#lobbyBadge);
    b.people.setAttribute('aria-controls', 'people-panel');
    b.chat.setAttribute('aria-controls', 'chat-panel');
    attr(b.people, 'aria-label', (s) => s.people);
    attr(b.people, 'data-tip', (s) => s.people);
    attr(b.leave, 'aria-label', (s) => s.leaveMeeting);
    attr(b.leave, 'data-tip', (s) => s.leaveMeeting);
    // Phones cannot share a screen: no button rather than one that fails.
    if (typeof navigator.mediaDevices?.getDisplayMedia !== 'function') b.screen.hidden = true;
    for (const control of Object.keys(b) as Control[]) b[control].addEventListener('click', () => onClick[control]());
    this.el = el(
      'nav',
      { class: 'toolbar' },
      el('div', { class: 'tb-group' }, b.mic, b.camera, b.screen, b.hand),
      el('div', { class: 'tb-group' }, b.people, b.chat, b.leave),
    );
    attr(this.el, 'aria-label', (s) => s.controls);
  }

  focus(control: Control): void {
    this.#btn[control].focus();
  }

  render(st: ToolbarState): void {
    const set = (b: HTMLButtonElement, iconName: IconName, label: (s: Strings) => string, off: boolean) => {
      // Only a changed icon is redrawn: the toolbar is refreshed on every roster change.
      if (b.dataset.icon !== iconName) {
        b.dataset.icon = iconName;
        b.querySelector('svg')?.remove();
        b.prepend(icon(iconName));
      }
      attr(b, 'aria-label', label);
      attr(b, 'data-tip', label);
      b.classList.toggle('off', off);
    };
    const b = this.#btn;
    const { micOn, cameraOn, sharing, handRaised, panel, unreadChat: unread } = st;
    set(b.mic, micOn ? 'mic' : 'micOff', (s) => (micOn ? s.muteMic : s.unmuteMic), !micOn);
    set(b.camera, cameraOn ? 'camera' : 'cameraOff', (s) => (cameraOn ? s.cameraOff : s.cameraOn), !cameraOn);
    set(b.screen, sharing ? 'screenOff' : 'screen', (s) => (sharing ? s.stopSharing : s.shareScreen), false);
    b.screen.classList.toggle('active', sharing);
    set(b.hand, 'hand', (s) => (handRaised ? s.lowerHand : s.raiseHand), false);
    b.hand.classList.toggle('active', handRaised);
    b.people.setAttribute('aria-expanded', String(panel === 'people'));
    b.chat.setAttribute('aria-expanded', String(panel === 'chat'));
    b.people.classList.toggle('active', panel === 'people');
    b.chat.classList.toggle('active', panel === 'chat');
    this.#chatBadge.hidden = unread === 0;
    this.#chatBadge.textContent = unread > 9 ? '9+' : String(unread);
    attr(b.chat, 'aria-label', (s) => (unread ? `${s.chat}, ${s.chatUnread(unread)}` : s.chat));
    attr(b.chat, 'data-tip', (s) => s.chat);
  }

  /** The participant count, on the button for tests. */
  setCount(count: number): void {
    this.#btn.people.dataset.count = String(count);
  }

  /** For moderators: how many wait in the lobby (0 hides the badge). */
  setWaiting(waiting: number): void {
    this.#lobbyBadge.hidden = waiting === 0;
    this.#lobbyBadge.textContent = String(waiting);
    attr(this.#btn.people, 'aria-label', (s) => (waiting ? `${s.people}, ${s.lobbyHeading(waiting)}` : s.people));
  }
}
