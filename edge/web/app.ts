/**
 * The browser app: a start page to pick a room, the pre-join screen (name, devices, preview) and the
 * meeting. Served by the edge; no third-party requests (the CSP allows only this origin). A room
 * address may carry a join token and a region hint (join-link.ts).
 */
import './zod-config.ts'; // first: before any schema is built
import { missingFeatures, unsupportedScreen } from './browser-support.ts';
import { el, tx } from './dom.ts';
import { lang, t, type Strings } from './i18n.ts';
import { readJoinLink } from './join-link.ts';
import { languageSelect } from './language.ts';
import { preJoin } from './prejoin.ts';
import { RoomView } from './view/room-view.ts';

const app = document.getElementById('app')!;
document.documentElement.lang = lang;

const roomFromPath = () => decodeURIComponent(location.pathname.slice(1));
const ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function startPage(): void {
  const input = el('input', {
    id: 'room',
    name: 'room',
    required: true,
    pattern: ROOM_RE.source.slice(1, -1),
    value: `room-${Math.random().toString(36).slice(2, 8)}`,
    'aria-describedby': 'room-hint',
  });
  const form = el(
    'form',
    { class: 'card' },
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
    el(
      'button',
      { class: 'btn primary', type: 'submit' },
      tx((s) => s.go),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (ROOM_RE.test(input.value)) location.assign(`/${encodeURIComponent(input.value)}${location.search}`);
  });
  app.replaceChildren(
    el(
      'div',
      { class: 'start' },
      el('header', { class: 'brand-bar' }, el('span', { class: 'brand' }, 'Treffpunkt'), languageSelect('lang-start')),
      form,
    ),
  );
  input.focus();
}

// Read before anything else: the token leaves the address bar at once.
const link = readJoinLink();

function showPreJoin(room: string, message?: (s: Strings) => string): void {
  preJoin(
    app,
    room,
    message,
    async (choice, waiting) => {
      const view = new RoomView(app, room, choice, (msg) => showPreJoin(room, msg));
      await view.join({ name: choice.name || t.you, token: link.token, region: link.region }, choice.micOn, waiting);
    },
    link.token ? { invitedAs: link.tokenName ?? null } : {},
  );
}

const room = roomFromPath();
const missing = missingFeatures();
if (!ROOM_RE.test(room)) startPage();
else if (missing.length > 0) unsupportedScreen(app, room, missing);
else showPreJoin(room);
