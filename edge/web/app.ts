/**
 * The browser app: a start page to pick a room, a pre-join screen with camera preview and name, and the
 * meeting grid. Served by the edge; no third-party requests.
 */
import { t } from './i18n.ts';
import { Meeting } from './meeting.ts';
import { SignalingError } from './signaling.ts';
import type { MediaSource } from '../../shared/media-types.ts';

const app = document.getElementById('app')!;
const announcer = document.getElementById('announcer')!;
document.documentElement.lang = navigator.languages.some((l) => l.startsWith('de')) ? 'de' : 'en';

/** Tiny DOM helper: el('div', { class: 'x' }, child, 'text'). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
const announce = (text: string) => (announcer.textContent = text);

const roomFromPath = () => decodeURIComponent(location.pathname.slice(1));
const ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function startPage(): void {
  const input = el('input', { id: 'room', name: 'room', required: '', pattern: ROOM_RE.source.slice(1, -1), value: `room-${Math.random().toString(36).slice(2, 8)}`, 'aria-describedby': 'room-hint' });
  const form = el('form', {}, el('h1', {}, t.title), el('p', {}, t.tagline), el('label', { for: 'room' }, t.roomLabel), input, el('div', { id: 'room-hint', class: 'hint' }, t.roomHint), el('button', { class: 'btn', type: 'submit' }, t.go));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (ROOM_RE.test(input.value)) location.assign(`/${encodeURIComponent(input.value)}`);
  });
  app.replaceChildren(el('section', { class: 'card' }, form));
  input.focus();
}

async function getLocalMedia(): Promise<MediaStream | null> {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
  } catch {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return null;
    }
  }
}

async function preJoin(room: string, message?: string): Promise<void> {
  const local = await getLocalMedia();
  const name = el('input', { id: 'name', name: 'name', required: '', maxlength: '64', autocomplete: 'name', value: localStorage.getItem('treffpunkt.name') ?? '' });
  const preview = el('video', { class: 'preview', autoplay: '', playsinline: '', 'aria-label': t.preview });
  preview.muted = true;
  if (local) preview.srcObject = local;
  const button = el('button', { class: 'btn', type: 'submit', id: 'join' }, message ? t.rejoin : t.join);
  const error = el('div', { class: 'error', role: 'alert' });
  const form = el('form', {}, el('h1', {}, room), el('p', {}, message ?? t.tagline), preview, el('label', { for: 'name' }, t.nameLabel), name, button, error);
  if (!local) error.textContent = t.noDevices;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const displayName = name.value.trim();
    if (!displayName) return name.focus();
    localStorage.setItem('treffpunkt.name', displayName);
    button.disabled = true;
    button.textContent = t.joining;
    try {
      await enterMeeting(room, displayName, local);
    } catch (err) {
      button.disabled = false;
      button.textContent = t.join;
      error.textContent = `${t.errorPrefix} ${err instanceof SignalingError ? err.message : String(err)}`;
    }
  });
  app.replaceChildren(el('section', { class: 'card' }, form));
  name.focus();
}

async function enterMeeting(room: string, name: string, local: MediaStream | null): Promise<void> {
  const grid = el('div', { class: 'grid', role: 'list' });
  const count = el('span');
  const names = new Map<string, string>();
  const tiles = new Map<string, { tile: HTMLElement; stream: MediaStream; video: HTMLVideoElement }>();
  const alone = el('div', { class: 'alone' }, el('p', {}, t.alone), el('code', {}, location.href));

  const refresh = () => {
    count.textContent = t.participants(tiles.size);
    if (tiles.size <= 1) grid.append(alone);
    else alone.remove();
  };
  const addTile = (id: string, displayName: string, self: boolean) => {
    const stream = new MediaStream();
    const video = el('video', { autoplay: '', playsinline: '' });
    video.muted = self;
    video.srcObject = stream;
    const tile = el('div', { class: `tile${self ? ' self' : ''}`, role: 'listitem', 'data-participant-id': id, 'aria-label': displayName }, video, el('span', { class: 'avatar', 'aria-hidden': 'true' }, displayName.slice(0, 1).toUpperCase()), el('span', { class: 'name' }, self ? `${displayName} (${t.you})` : displayName));
    tiles.set(id, { tile, stream, video });
    grid.append(tile);
    refresh();
    return tiles.get(id)!;
  };
  const removeTile = (id: string) => {
    tiles.get(id)?.tile.remove();
    tiles.delete(id);
    refresh();
  };
  const addTrack = (id: string, track: MediaStreamTrack) => {
    const entry = tiles.get(id);
    if (!entry) return;
    entry.stream.addTrack(track);
    if (track.kind === 'video') entry.tile.classList.add('has-video');
    void entry.video.play().catch(() => undefined);
  };

  const { meeting, participants } = await Meeting.join(room, name, {
    participantJoined: (p) => {
      names.set(p.id, p.name);
      addTile(p.id, p.name, false);
      announce(t.joined(p.name));
    },
    participantLeft: (id) => {
      announce(t.left(names.get(id) ?? ''));
      removeTile(id);
    },
    trackAdded: (id, track) => addTrack(id, track),
    trackRemoved: (id, track) => {
      const entry = tiles.get(id);
      entry?.stream.removeTrack(track);
      if (track.kind === 'video' && entry && entry.stream.getVideoTracks().length === 0) entry.tile.classList.remove('has-video');
    },
    disconnected: () => void preJoin(room, t.connectionLost),
  });
  (window as unknown as { treffpunkt: unknown }).treffpunkt = { meeting };

  const self = addTile(meeting.participantId, name, true);
  for (const track of local?.getTracks() ?? []) addTrack(meeting.participantId, track);
  for (const p of participants) {
    names.set(p.id, p.name);
    addTile(p.id, p.name, false);
  }

  const toggle = (source: MediaSource, onLabel: string, offLabel: string) => {
    const b = el('button', { class: 'btn secondary', type: 'button', 'aria-pressed': 'false' }, onLabel);
    b.addEventListener('click', () => {
      const paused = b.getAttribute('aria-pressed') !== 'true';
      meeting.setPaused(source, paused);
      b.setAttribute('aria-pressed', String(paused));
      b.textContent = paused ? offLabel : onLabel;
      if (source === 'camera') self.tile.classList.toggle('has-video', !paused);
    });
    return b;
  };
  const leave = el('button', { class: 'btn danger', type: 'button', id: 'leave' }, t.leave);
  leave.addEventListener('click', async () => {
    await meeting.leave();
    for (const tr of local?.getTracks() ?? []) tr.stop();
    void preJoin(room, t.leftTitle);
  });
  app.replaceChildren(
    el('div', { class: 'meeting' }, el('header', {}, el('strong', {}, room), count), grid, el('nav', { class: 'controls', 'aria-label': 'Controls' }, toggle('microphone', t.micOn, t.micOff), toggle('camera', t.camOn, t.camOff), leave)),
  );
  refresh();

  for (const track of local?.getTracks() ?? []) await meeting.publish(track, track.kind === 'audio' ? 'microphone' : 'camera');
  for (const p of participants) for (const prod of p.producers) void meeting.consume(p.id, prod.id, prod.source);
}

const room = roomFromPath();
if (ROOM_RE.test(room)) void preJoin(room);
else startPage();
