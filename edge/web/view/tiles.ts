/**
 * Video tiles: one per participant (camera, name, mute/hand/quality state) and one per screen share.
 * A tile knows which producer it shows, so the stage can ask for the simulcast layer that fits it.
 */
import { attr, avatarColour, el, initials, tx } from '../dom.ts';
import { icon, qualityBars } from '../icons.ts';
import type { Quality, Strings } from '../i18n.ts';
import { personName } from './person-name.ts';

export type TileKind = 'camera' | 'screen';

/** The layout where tiles are pinned by a tap (the same query as in style.css). */
const onPhone = () => globalThis.matchMedia?.('(hover: none) and (max-width: 600px)').matches ?? false;

export class Tile {
  readonly key: string;
  readonly participantId: string;
  readonly kind: TileKind;
  readonly el: HTMLElement;
  readonly video: HTMLVideoElement;
  readonly pinButton: HTMLButtonElement;
  /** The producer whose video the tile shows (remote tiles), for layer selection. */
  producerId: string | undefined;
  #track: MediaStreamTrack | null = null;
  /** The track has drawn a frame: until then a tile shows the name and "Connecting…", not black. */
  #drawn = false;
  #name: string;
  readonly #nameText: HTMLElement;
  readonly #avatar: HTMLElement;
  readonly #micOff: HTMLElement;
  readonly #hand: HTMLElement;
  readonly #speaking: HTMLElement;
  readonly #quality: HTMLElement;
  readonly #self: boolean;

  constructor(opts: {
    participantId: string;
    name: string;
    verified?: boolean;
    self: boolean;
    kind: TileKind;
    onPin(tile: Tile): void;
  }) {
    this.participantId = opts.participantId;
    this.kind = opts.kind;
    this.key = opts.kind === 'screen' ? `${opts.participantId}:screen` : opts.participantId;
    this.#self = opts.self;
    this.#name = opts.name;
    this.video = el('video', { autoplay: true, playsinline: true, muted: true });
    this.video.muted = true; // audio plays through separate <audio> elements (speaker choice)
    const drawn = () => {
      if (this.video.videoWidth > 0 && !this.#drawn) {
        this.#drawn = true;
        this.update({});
      }
    };
    this.video.addEventListener('loadeddata', drawn);
    this.video.addEventListener('resize', drawn);
    this.#avatar = el('span', { class: 'avatar', 'aria-hidden': 'true' });
    this.#nameText = el('span', { class: 'name-text' });
    this.#micOff = el(
      'span',
      { class: 'state mic-off', hidden: true },
      icon('micOff'),
      el(
        'span',
        { class: 'visually-hidden' },
        tx((s) => s.micOffState),
      ),
    );
    this.#hand = el(
      'span',
      { class: 'state hand', hidden: true },
      icon('hand'),
      el(
        'span',
        { class: 'visually-hidden' },
        tx((s) => s.handRaisedState),
      ),
    );
    // The active speaker gets a frame colour and this icon with its text: never colour alone.
    this.#speaking = el(
      'span',
      { class: 'state speaking', hidden: true },
      icon('speaking'),
      el(
        'span',
        { class: 'visually-hidden' },
        tx((s) => s.speakingState),
      ),
    );
    this.#quality = el(
      'span',
      { class: 'state quality', hidden: true },
      qualityBars(),
      el('span', { class: 'visually-hidden' }),
    );
    this.pinButton = el('button', { type: 'button', class: 'pin' }, icon('pin'));
    this.pinButton.addEventListener('click', () => opts.onPin(this));
    this.el = el(
      'div',
      {
        class: `tile ${opts.kind}${opts.self ? ' self' : ''}`,
        role: 'group',
        'data-participant-id': opts.participantId,
        'data-tile': this.key,
      },
      this.video,
      this.#avatar,
      el(
        'span',
        { class: 'connecting-label' },
        tx((s) => s.connectingVideo),
      ),
      el(
        'div',
        { class: 'tile-bar' },
        this.#speaking,
        this.#hand,
        this.#micOff,
        this.#nameText,
        verifiedMark(opts.verified ?? false),
        this.#quality,
      ),
      this.pinButton,
    );
    // On a phone the pin buttons would cover every small tile (style.css hides them there but on the
    // large one): a tap on the tile pins it instead.
    this.el.addEventListener('click', (e) => {
      if (e.target instanceof Node && this.pinButton.contains(e.target)) return;
      if (onPhone()) opts.onPin(this);
    });
    this.setName(opts.name);
    this.setPinned(false);
  }

  get name(): string {
    return this.#name;
  }

  setName(name: string): void {
    this.#name = name;
    const label = (s: Strings) => (this.kind === 'screen' ? s.screenOf(name) : this.#self ? s.nameYou(name) : name);
    this.#nameText.replaceChildren(
      personName(
        'name',
        (s) => (this.kind === 'screen' ? s.screenOf(name) : name),
        this.#self && this.kind !== 'screen',
      ),
    );
    attr(this.el, 'aria-label', label);
    this.#avatar.textContent = initials(name);
    this.#avatar.style.backgroundColor = avatarColour(name);
  }

  setPinned(pinned: boolean): void {
    this.el.classList.toggle('pinned', pinned);
    this.pinButton.setAttribute('aria-pressed', String(pinned));
    attr(this.pinButton, 'aria-label', (s) =>
      pinned ? s.unpin(this.#name) : s.pin(this.kind === 'screen' ? s.screenOf(this.#name) : this.#name),
    );
  }

  /** Shows a video track (or none: the avatar). */
  setTrack(track: MediaStreamTrack | null, producerId?: string): void {
    this.producerId = producerId;
    if (track === this.#track) return;
    this.#track = track;
    this.#drawn = false;
    this.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) void this.video.play().catch(() => undefined);
    this.update({});
  }

  get track(): MediaStreamTrack | null {
    return this.#track;
  }

  update(state: {
    micOff?: boolean;
    cameraOff?: boolean;
    hand?: boolean;
    quality?: Quality | undefined;
    speaking?: boolean;
  }): void {
    if (state.micOff !== undefined) this.#micOff.hidden = !state.micOff;
    if (state.hand !== undefined) {
      this.#hand.hidden = !state.hand;
      this.el.classList.toggle('hand-raised', state.hand);
    }
    if (state.cameraOff !== undefined) this.el.dataset.cameraOff = String(state.cameraOff);
    if (state.speaking !== undefined) {
      this.el.classList.toggle('speaking', state.speaking);
      this.#speaking.hidden = !state.speaking;
    }
    if ('quality' in state) setQuality(this.#quality, state.quality);
    const video = Boolean(this.#track) && this.el.dataset.cameraOff !== 'true';
    this.el.classList.toggle('has-video', video && this.#drawn);
    this.el.classList.toggle('connecting', video && !this.#drawn);
  }
}

/** Fills a quality indicator (`.quality` with bars and a hidden text), or hides it when unknown. */
export function setQuality(node: HTMLElement, q: Quality | undefined): void {
  if (node.dataset.quality === (q ?? '') && node.dataset.quality !== undefined) return;
  node.hidden = q === undefined;
  node.dataset.quality = q ?? '';
  const text = node.querySelector('.visually-hidden');
  if (text && q) text.replaceChildren(tx((s) => s.quality[q]));
  if (q) attr(node, 'title', (s) => s.quality[q]);
}

/**
 * The simulcast layer that fits a tile: the lowest layer at least as tall as the video is drawn (with
 * 10 % tolerance), assuming a 720p camera (layers 180p, 360p, 720p). `fit` is how the video is drawn
 * (cover crops, contain letterboxes).
 */
export function layerFor(width: number, height: number, fit: 'cover' | 'contain', aspect = 16 / 9): 0 | 1 | 2 {
  if (width <= 0 || height <= 0) return 0;
  const drawn = fit === 'cover' ? Math.max(height, width / aspect) : Math.min(height, width / aspect);
  const px = drawn * Math.min(globalThis.devicePixelRatio || 1, 1.5);
  return px <= 198 ? 0 : px <= 396 ? 1 : 2;
}

/**
 * Columns, rows and tile size for n tiles in a w×h area: the arrangement with the largest tiles whose
 * shape stays between 4:3 and 16:9 on a landscape stage (3:4 to 16:9 on a portrait one, like a phone).
 */
export function gridShape(
  n: number,
  w: number,
  h: number,
  gap = 8,
): { cols: number; rows: number; tileW: number; tileH: number } {
  const minAspect = h > w ? 3 / 4 : 4 / 3;
  const maxAspect = 16 / 9;
  let best = { cols: 1, rows: Math.max(1, n), tileW: 0, tileH: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (w - gap * (cols - 1)) / cols;
    const ch = (h - gap * (rows - 1)) / rows;
    if (cw <= 0 || ch <= 0) continue;
    let tw = cw;
    let th = ch;
    if (cw / ch > maxAspect) tw = ch * maxAspect;
    else if (cw / ch < minAspect) th = cw / minAspect;
    if (tw * th > best.tileW * best.tileH + 1) best = { cols, rows, tileW: Math.floor(tw), tileH: Math.floor(th) };
  }
  return best;
}

/**
 * Next to a name from a join token: a check mark, "Verified identity" for screen readers (issue 10).
 * Anyone can type "Frau Dr. Schmidt"; only an invitation's issuer can vouch for it, and the edge refuses a
 * guest who asks for a verified participant's name. Typed names get no mark (in an open deployment all are).
 */
export function verifiedMark(verified: boolean): Node {
  if (!verified) return document.createTextNode('');
  const mark = el('span', { class: 'verified', role: 'img' }, '✓');
  attr(mark, 'aria-label', (s) => s.verifiedName);
  attr(mark, 'title', (s) => s.verifiedName);
  return mark;
}
