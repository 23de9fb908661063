/**
 * The stage: everyone's video tiles in a grid, or one large (pinned, a screen share, the active
 * speaker) above a strip of the others. It places the tiles, follows the active speaker, and asks the
 * meeting for the simulcast layer that fits each remote camera tile whenever the layout or a size changes.
 */
import { announce, attr, el, tx } from '../dom.ts';
import { t } from '../i18n.ts';
import { icon } from '../icons.ts';
import type { Meeting } from '../meeting/meeting.ts';
import type { Participant } from '../meeting/types.ts';
import { gridShape, layerFor, Tile } from './tiles.ts';

export type View = 'grid' | 'speaker';

/** Room for the "you are alone" card below your tile, before it has been measured. */
const ALONE_CARD_PX = 150;

export interface StageHooks {
  /** The meeting, once joined (nothing is laid out before). */
  meeting(): Meeting | undefined;
  /** Copy the invite link (the button on the "you are alone" card). */
  invite(): void;
  /** After every layout: the view switch and the presenting bar follow. */
  laidOut(view: View): void;
}

export class Stage {
  readonly el: HTMLElement;
  readonly tiles = new Map<string, Tile>();
  view: View;
  pinned: string | null = null;
  activeSpeaker: string | null = null;
  #lastRemoteSpeaker: string | null = null;
  /** The view a screen share switched us away from: back to it when the last share ends, unless the person chose one since. */
  #viewBeforeShare: View | null = null;
  readonly #hooks: StageHooks;
  readonly #spotlight: HTMLElement;
  readonly #filmstrip: HTMLElement;
  readonly #alone: HTMLElement;
  readonly #resize: ResizeObserver;
  #layerFrame = 0;

  constructor(inviteUrl: string, hooks: StageHooks) {
    this.#hooks = hooks;
    this.view = localStorage.getItem('treffpunkt.view') === 'speaker' ? 'speaker' : 'grid';
    this.el = el('section', { class: 'stage', id: 'stage' });
    attr(this.el, 'aria-label', (s) => s.stage);
    this.#spotlight = el('div', { class: 'spotlight' });
    this.#filmstrip = el('div', { class: 'filmstrip', role: 'group' });
    attr(this.#filmstrip, 'aria-label', (s) => s.filmstrip);
    const inviteInline = el(
      'button',
      { type: 'button', class: 'btn secondary invite-inline' },
      icon('link'),
      el(
        'span',
        {},
        tx((s) => s.copyInvite),
      ),
    );
    inviteInline.addEventListener('click', () => hooks.invite());
    this.#alone = el(
      'div',
      { class: 'alone' },
      el(
        'p',
        {},
        tx((s) => s.alone),
      ),
      el('code', { class: 'invite-url' }, inviteUrl),
      inviteInline,
    );
    this.#resize = new ResizeObserver(() => this.scheduleLayers());
    this.#resize.observe(this.el);
  }

  /** A participant's camera tile (with our own camera track on ours). */
  addParticipant(p: Participant, ownCamera: MediaStreamTrack | null): void {
    if (this.tiles.has(p.id)) return;
    const tile = this.#newTile(p, 'camera');
    if (p.self && ownCamera) tile.setTrack(ownCamera);
  }

  removeParticipant(participantId: string): void {
    this.#removeTile(participantId);
    this.#removeTile(`${participantId}:screen`);
    if (this.#lastRemoteSpeaker === participantId) this.#lastRemoteSpeaker = null;
    if (this.activeSpeaker === participantId) this.activeSpeaker = null;
  }

  /** A remote camera track arrived (or went: null) for a participant's tile. */
  setCamera(participantId: string, producerId: string, track: MediaStreamTrack | null): void {
    const tile = this.tiles.get(participantId);
    if (track) tile?.setTrack(track, producerId);
    else if (tile?.producerId === producerId) tile.setTrack(null);
    this.scheduleLayers();
  }

  /** A screen share arrived (its own tile, shown large) or ended. */
  setScreen(
    owner: Participant | undefined,
    participantId: string,
    producerId: string,
    track: MediaStreamTrack | null,
  ): void {
    const key = `${participantId}:screen`;
    if (track && owner) {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = this.#newTile(owner, 'screen');
        announce(t.startedSharing(owner.name));
        // A new presentation is what people want to see: switch to the speaker view with it large.
        if (this.view !== 'speaker') this.#viewBeforeShare ??= this.view;
        this.view = 'speaker';
      }
      tile.setTrack(track, producerId);
    } else if (!track && this.tiles.get(key)?.producerId === producerId) {
      this.#removeTile(key);
      if (owner) announce(t.stoppedSharing(owner.name));
      const screensLeft = [...this.tiles.values()].some((x) => x.kind === 'screen');
      if (!screensLeft && this.#viewBeforeShare && !this.pinned) {
        this.view = this.#viewBeforeShare;
        this.#viewBeforeShare = null;
      }
    }
    this.layout();
  }

  /** Highlights the speaker; returns who was highlighted before (both need redrawing). */
  setActiveSpeaker(id: string | null, selfId: string): string | null {
    const previous = this.activeSpeaker;
    this.activeSpeaker = id;
    if (id && id !== selfId) this.#lastRemoteSpeaker = id;
    return previous;
  }

  setView(view: View): void {
    this.view = view;
    this.#viewBeforeShare = null;
    if (view === 'grid') this.setPinned(null);
    localStorage.setItem('treffpunkt.view', view);
    this.layout();
  }

  setPinned(key: string | null): void {
    if (this.pinned) this.tiles.get(this.pinned)?.setPinned(false);
    this.pinned = key;
    if (key) {
      this.tiles.get(key)?.setPinned(true);
      this.view = 'speaker';
    }
    this.layout();
  }

  /** The tile shown large in speaker view (undefined in grid view). */
  mainTile(): Tile | undefined {
    const m = this.#hooks.meeting();
    if (this.view !== 'speaker' || !m) return undefined;
    const remoteScreens = [...this.tiles.values()].filter(
      (x) => x.kind === 'screen' && x.participantId !== m.participantId,
    );
    return (
      (this.pinned ? this.tiles.get(this.pinned) : undefined) ??
      remoteScreens[0] ??
      (this.#lastRemoteSpeaker ? this.tiles.get(this.#lastRemoteSpeaker) : undefined) ??
      [...this.tiles.values()].find((x) => x.kind === 'camera' && x.participantId !== m.participantId) ??
      this.tiles.get(m.participantId)
    );
  }

  /** Places the tiles for the current view, then asks for the layers that fit them. */
  layout(): void {
    const m = this.#hooks.meeting();
    if (!m) return;
    const selfId = m.participantId;
    const ordered = [...this.tiles.values()].sort((a, b) => {
      const pa = m.participants.get(a.participantId);
      const pb = m.participants.get(b.participantId);
      // Screens first, then yourself, then in the order people joined.
      return (
        Number(b.kind === 'screen') - Number(a.kind === 'screen') ||
        Number(b.participantId === selfId) - Number(a.participantId === selfId) ||
        (pa?.joinedAt ?? 0) - (pb?.joinedAt ?? 0)
      );
    });
    const visible = ordered.filter((x) => !(x.kind === 'screen' && x.participantId === selfId));
    const main = this.mainTile();
    this.el.classList.toggle('grid-view', this.view === 'grid');
    this.el.classList.toggle('speaker-view', this.view === 'speaker');
    for (const tile of visible) tile.el.classList.toggle('main', tile === main);
    if (this.view === 'grid' || !main) {
      const items: HTMLElement[] = visible.map((x) => x.el);
      if (visible.length <= 1) items.push(this.#alone);
      placeChildren(this.el, items);
      this.#gridTemplate(true);
    } else {
      placeChildren(this.#spotlight, [main.el]);
      const strip = visible.filter((x) => x !== main).map((x) => x.el);
      if (visible.length <= 1) strip.push(this.#alone);
      placeChildren(this.#filmstrip, strip);
      placeChildren(this.el, [this.#spotlight, this.#filmstrip]);
      for (const tile of visible) tile.el.style.gridColumn = '';
      this.#filmstrip.hidden = strip.length === 0;
      this.el.style.gridTemplateColumns = '';
      this.el.style.gridTemplateRows = '';
    }
    this.#hooks.laidOut(this.view);
    this.scheduleLayers();
  }

  /** On the next frame: the grid's tracks for the stage's size, and each remote camera's layer for its tile. */
  scheduleLayers(): void {
    if (this.#layerFrame) return;
    this.#layerFrame = requestAnimationFrame(() => {
      this.#layerFrame = 0;
      const m = this.#hooks.meeting();
      if (!m) return;
      // Grid relayout on size changes (columns and tile size depend on the stage's shape).
      if (this.view === 'grid') this.#gridTemplate(false);
      for (const tile of this.tiles.values()) {
        if (tile.kind !== 'camera' || !tile.producerId || tile.participantId === m.participantId) continue;
        const shown = tile.el.isConnected;
        const fit = tile.el.classList.contains('main') && this.view === 'speaker' ? 'contain' : 'cover';
        const v = tile.video;
        const aspect = v.videoWidth && v.videoHeight ? v.videoWidth / v.videoHeight : 16 / 9;
        const layer = shown ? layerFor(tile.el.clientWidth, tile.el.clientHeight, fit, aspect) : 0;
        tile.el.dataset.layer = String(layer);
        m.setPreferredLayer(tile.producerId, layer);
      }
    });
  }

  /** The meeting is over: no more size tracking, no video playing. */
  stop(): void {
    this.#resize.disconnect();
    for (const tile of this.tiles.values()) tile.setTrack(null);
  }

  #newTile(p: Participant, kind: 'camera' | 'screen'): Tile {
    const tile = new Tile({
      participantId: p.id,
      name: p.name,
      verified: p.verified,
      self: kind === 'camera' && p.self,
      kind,
      onPin: (x) => this.setPinned(this.pinned === x.key ? null : x.key),
    });
    this.tiles.set(tile.key, tile);
    this.#resize.observe(tile.el);
    return tile;
  }

  #removeTile(key: string): void {
    const tile = this.tiles.get(key);
    if (!tile) return;
    this.#resize.unobserve(tile.el);
    tile.el.remove();
    tile.setTrack(null);
    this.tiles.delete(key);
    if (this.pinned === key) this.pinned = null;
  }

  /**
   * Sizes the grid's tracks so the tiles are as large as fits (gridShape), centred on the stage. Each
   * column is two tracks, so that a short last row is centred too (three people: the third tile in the
   * middle below the two, not bottom-left beside an empty cell); alone, your tile is centred with the
   * invitation card in a row of its own below it (issue 15).
   */
  #gridTemplate(force: boolean): void {
    const st = getComputedStyle(this.el);
    const padX = parseFloat(st.paddingLeft) + parseFloat(st.paddingRight);
    const padY = parseFloat(st.paddingTop) + parseFloat(st.paddingBottom);
    const gap = parseFloat(st.columnGap) || 8;
    const w = (this.el.clientWidth || 800) - padX;
    const h = (this.el.clientHeight || 500) - padY;
    const tiles = [...this.el.children].filter((c): c is HTMLElement => c !== this.#alone && c instanceof HTMLElement);
    const alone = this.#alone.parentElement === this.el;
    const cardH = alone ? Math.min(this.#alone.offsetHeight || ALONE_CARD_PX, h / 2) + gap : 0;
    const { cols, rows, tileW, tileH } = gridShape(Math.max(1, tiles.length), w, h - cardH, gap);
    // Never smaller than a readable tile: with many people the stage scrolls instead.
    const tw = Math.max(tileW, 120);
    const c = `repeat(${cols * 2}, ${(tw - gap) / 2}px)`;
    const r = `repeat(${rows}, ${Math.max(tileH, 90)}px)${alone ? ' auto' : ''}`;
    if (force || this.el.style.gridTemplateColumns !== c || this.el.style.gridTemplateRows !== r) {
      this.el.style.gridTemplateColumns = c;
      this.el.style.gridTemplateRows = r;
    }
    const short = tiles.length % cols;
    tiles.forEach((tile, i) => {
      const firstOfShortRow = short > 0 && i === tiles.length - short;
      tile.style.gridColumn = firstOfShortRow ? `${cols - short + 1} / span 2` : 'span 2';
    });
  }
}

/** Makes `parent`'s children exactly `children`, in order, moving nodes only when needed (videos keep playing). */
function placeChildren(parent: HTMLElement, children: HTMLElement[]): void {
  const want = new Set(children);
  for (const c of [...parent.children]) if (!want.has(c as HTMLElement)) c.remove();
  children.forEach((c, i) => {
    if (parent.children[i] !== c) parent.insertBefore(c, parent.children[i] ?? null);
  });
}
