/**
 * The start page: choose a room (a random one proposed, its word in the page's language), or, after a
 * room address that is no room (`/Team%20Meeting!`, `/a.b`, `/über`, 65 characters: the edge serves the
 * app with a 404 for those), the explanation and a similar valid name to open instead.
 */
import { ROOM_NAME_PATTERN, RoomName } from '../../shared/ids.ts';
import { content, el, tx } from './dom.ts';
import { t } from './i18n.ts';
import { languageSelect } from './language.ts';

const randomRoom = () => `${t.roomWord}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * A valid room name close to `wanted`: accents dropped (ü → u), ß → ss, runs of anything else → one
 * "-", cut to 64; a random name when nothing is left.
 *
 * @example similarRoomName('Team Meeting!') === 'Team-Meeting'
 */
export function similarRoomName(wanted: string): string {
  const name = wanted
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return RoomName.safeParse(name).success ? name : randomRoom();
}

/** Shows the start page in `root`; `badRoom`: the room part of an address that is not a room. */
export function startPage(root: HTMLElement, badRoom?: string): void {
  const input = el('input', {
    id: 'room',
    name: 'room',
    required: true,
    pattern: ROOM_NAME_PATTERN,
    value: badRoom === undefined ? randomRoom() : similarRoomName(badRoom),
    'aria-describedby': 'room-hint room-error',
  });
  const error = el('div', { id: 'room-error', class: 'field-error', role: 'alert' });
  const form = el(
    'form',
    { class: 'card', novalidate: true },
    el(
      'h1',
      {},
      tx((s) => s.title),
    ),
    el(
      'p',
      {},
      tx((s) => s.tagline),
    ),
    badRoom === undefined
      ? null
      : el(
          'p',
          { class: 'message', id: 'bad-room', role: 'status' },
          tx((s) => s.badRoomAddress(badRoom)),
        ),
    el(
      'label',
      { for: 'room' },
      tx((s) => s.roomLabel),
    ),
    input,
    el(
      'div',
      { id: 'room-hint', class: 'hint' },
      tx((s) => s.roomHint),
    ),
    error,
    el(
      'button',
      { class: 'btn primary', type: 'submit' },
      tx((s) => s.go),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = input.value.trim();
    if (RoomName.safeParse(wanted).success) return location.assign(`/${encodeURIComponent(wanted)}${location.search}`);
    // Not a room name: say why and put a similar one in the field, ready to open with one more press.
    const similar = similarRoomName(wanted);
    content(error, (s) => s.roomInvalid(similar));
    input.value = similar;
    input.setAttribute('aria-invalid', 'true');
    input.select();
  });
  input.addEventListener('input', () => {
    error.textContent = '';
    input.removeAttribute('aria-invalid');
  });
  root.replaceChildren(
    el(
      'div',
      { class: 'start' },
      el('header', { class: 'brand-bar' }, el('span', { class: 'brand' }, 'Treffpunkt'), languageSelect('lang-start')),
      form,
    ),
  );
  document.title = 'Treffpunkt';
  input.focus();
}
