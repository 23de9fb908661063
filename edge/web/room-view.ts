/**
 * The meeting screen: the stage (grid or speaker view, screen shares large), the toolbar (microphone,
 * camera, screen, hand, participants, chat, leave), the top bar (room, count, lock state, invite link,
 * view, language), the side panels (with the moderation controls for moderators) and the banners for a
 * lost connection or media server. Owns the local tracks from the pre-join screen; the media work is in
 * meeting.ts.
 *
 * For tests and diagnostics the meeting element carries `data-connection` ('connected' or
 * 'reconnecting'), `data-resumes` (sockets resumed), `data-media-moves` (media moved to another node
 * and set up there) and `data-media-unavailable` (while no media node can take us).
 */
import { announce, attr, content, el, tx } from './dom.ts';
import { openOne, setSink } from './devices.ts';
import { confirmDialog } from './dialog.ts';
import { icon, type IconName } from './icons.ts';
import { t, type Quality, type Strings } from './i18n.ts';
import { languageSelect } from './language.ts';
import { Meeting } from './meeting/meeting.ts';
import type { ChatMessage, JoinOptions, LobbyEntry, MeetingCallbacks, Participant } from './meeting/types.ts';
import { ChatPanel, PeoplePanel, type PersonState } from './panels.ts';
import type { JoinChoice } from './prejoin.ts';
import { gridShape, layerFor, Tile } from './tiles.ts';
import type { MediaSource } from '../../shared/media-types.ts';
import { CloseCode } from '../../shared/signaling.ts';
import { ErrorCode } from '../../shared/errors.ts';
import { SignalingError } from './signaling.ts';

type View = 'grid' | 'speaker';
type Panel = 'people' | 'chat';

const QUALITY_POLL_MS = 2_000;

/**
 * Connection quality of a participant. Others: the loss of what we receive from them, and the SFU's
 * score of their sending (a score of 0 is ignored while their media does arrive: the SFU scores a
 * simulcast producer by its worst layer, and a layer the sender dropped for lack of bandwidth scores 0).
 * Yourself: the loss the SFU reports for what you send, else the SFU's score.
 */
function qualityOf(p: Participant, loss: number | undefined): Quality | undefined {
  const rank: Quality[] = ['lost', 'poor', 'fair', 'good'];
  const fromLoss = (l: number): Quality => (l < 0 ? 'lost' : l > 0.08 ? 'poor' : l > 0.02 ? 'fair' : 'good');
  const worse = (a: Quality | undefined, b: Quality | undefined) => (a === undefined ? b : b === undefined ? a : rank.indexOf(a) < rank.indexOf(b) ? a : b);
  // A new producer scores 0 until the SFU's first receive report: not a verdict yet.
  const now = Date.now();
  const receiving = loss !== undefined && loss >= 0;
  const scores = [...p.producers.values()]
    .filter((x) => !x.paused && x.score !== undefined && (x.score > 0 || (now - x.since > 10_000 && !receiving)))
    .map((x) => x.score!);
  const fromScore = scores.length ? ((s: number): Quality => (s >= 7 ? 'good' : s >= 4 ? 'fair' : s >= 1 ? 'poor' : 'lost'))(Math.min(...scores)) : undefined;
  if (p.self) return loss !== undefined ? fromLoss(loss) : fromScore;
  return worse(fromScore, loss === undefined ? undefined : fromLoss(loss));
}

function toolbarButton(id: string, iconName: IconName, cls = ''): HTMLButtonElement {
  return el('button', { type: 'button', id, class: `tb${cls ? ` ${cls}` : ''}`, 'data-icon': iconName }, icon(iconName));
}

export class RoomView {
  readonly room: string;
  meeting!: Meeting;
  readonly #root: HTMLElement;
  readonly #exit: (message: (s: Strings) => string) => void;
  #camera: MediaStreamTrack | null;
  #microphone: MediaStreamTrack | null;
  #screen: MediaStreamTrack | null = null;
  /** What the person chose for the microphone (the producer follows: #reconcileMic). */
  #micOn = false;
  readonly #cameraId: string | undefined;
  readonly #microphoneId: string | undefined;
  readonly #speakerId: string | undefined;

  readonly tiles = new Map<string, Tile>();
  readonly #audios = new Map<string, HTMLAudioElement>();
  view: View;
  pinned: string | null = null;
  activeSpeaker: string | null = null;
  #lastRemoteSpeaker: string | null = null;
  #loss = new Map<string, number>();
  #panel: Panel | null = null;
  #unread = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #resize: ResizeObserver;
  #layerFrame = 0;
  #ended = false;

  // DOM
  readonly #stage: HTMLElement;
  readonly #spotlight: HTMLElement;
  readonly #filmstrip: HTMLElement;
  readonly #alone: HTMLElement;
  readonly #presenting: HTMLElement;
  readonly #count: HTMLElement;
  readonly #toasts: HTMLElement;
  readonly #banners: HTMLElement;
  readonly #reconnectingBanner: HTMLElement;
  readonly #mediaBanner: HTMLElement;
  readonly #lockState: HTMLElement;
  readonly #lobbyBadge: HTMLElement;
  readonly #audioSinks: HTMLElement;
  readonly #btn: Record<'mic' | 'camera' | 'screen' | 'hand' | 'people' | 'chat' | 'leave' | 'view' | 'invite', HTMLButtonElement>;
  readonly #chatBadge: HTMLElement;
  readonly people: PeoplePanel;
  readonly chat: ChatPanel;
  readonly #layoutRoot: HTMLElement;

  constructor(root: HTMLElement, room: string, choice: JoinChoice, exit: (message: (s: Strings) => string) => void) {
    this.#root = root;
    this.room = room;
    this.#exit = exit;
    this.#camera = choice.camera;
    this.#microphone = choice.microphone;
    this.#cameraId = choice.cameraId;
    this.#microphoneId = choice.microphoneId;
    this.#speakerId = choice.speakerId;
    this.view = localStorage.getItem('treffpunkt.view') === 'speaker' ? 'speaker' : 'grid';

    this.#stage = el('section', { class: 'stage', id: 'stage' });
    attr(this.#stage, 'aria-label', (s) => s.stage);
    this.#spotlight = el('div', { class: 'spotlight' });
    this.#filmstrip = el('div', { class: 'filmstrip', role: 'group' });
    attr(this.#filmstrip, 'aria-label', (s) => s.filmstrip);
    const inviteInline = el('button', { type: 'button', class: 'btn secondary invite-inline' }, icon('link'), el('span', {}, tx((s) => s.copyInvite)));
    inviteInline.addEventListener('click', () => void this.#copyInvite());
    this.#alone = el('div', { class: 'alone' }, el('p', {}, tx((s) => s.alone)), el('code', { class: 'invite-url' }, this.#inviteUrl()), inviteInline);
    const stopShare = el('button', { type: 'button', class: 'btn danger small' }, tx((s) => s.stopSharing));
    stopShare.addEventListener('click', () => void this.#toggleScreen());
    this.#presenting = el('div', { class: 'presenting', hidden: true }, icon('screen'), el('span', {}, tx((s) => s.youArePresenting)), stopShare);
    this.#count = el('span', { class: 'count' });
    this.#toasts = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    this.#audioSinks = el('div', { class: 'audio-sinks', hidden: true });
    this.#chatBadge = el('span', { class: 'badge', hidden: true });
    this.#lobbyBadge = el('span', { class: 'badge lobby-badge', hidden: true });
    this.#reconnectingBanner = el('p', { class: 'banner reconnecting', id: 'reconnecting-banner', hidden: true }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), tx((s) => s.reconnecting));
    this.#mediaBanner = el('p', { class: 'banner media-unavailable', id: 'media-banner', hidden: true }, tx((s) => s.mediaUnavailable));
    this.#banners = el('div', { class: 'banners', role: 'status', 'aria-live': 'polite' }, this.#reconnectingBanner, this.#mediaBanner);
    this.#lockState = el('span', { class: 'lock-state', id: 'lock-state', hidden: true }, icon('lock'), el('span', { class: 'top-label' }, tx((s) => s.roomLockedState)));
    attr(this.#lockState, 'title', (s) => s.roomLockedState);

    this.#btn = {
      mic: toolbarButton('mic-toggle', 'mic'),
      camera: toolbarButton('camera-toggle', 'camera'),
      screen: toolbarButton('screen-toggle', 'screen'),
      hand: toolbarButton('hand-toggle', 'hand'),
      people: toolbarButton('people-toggle', 'people'),
      chat: toolbarButton('chat-toggle', 'chat'),
      leave: toolbarButton('leave', 'leave', 'danger'),
      view: el('button', { type: 'button', id: 'view-toggle', class: 'top-btn' }),
      invite: el('button', { type: 'button', id: 'invite', class: 'top-btn' }, icon('link'), el('span', { class: 'top-label' }, tx((s) => s.copyInvite))),
    };
    this.#btn.chat.append(this.#chatBadge);
    this.#btn.people.append(this.#lobbyBadge);
    this.#btn.people.setAttribute('aria-controls', 'people-panel');
    this.#btn.chat.setAttribute('aria-controls', 'chat-panel');
    attr(this.#btn.people, 'aria-label', (s) => s.people);
    attr(this.#btn.people, 'data-tip', (s) => s.people);
    attr(this.#btn.leave, 'aria-label', (s) => s.leaveMeeting);
    attr(this.#btn.leave, 'data-tip', (s) => s.leaveMeeting);
    attr(this.#btn.invite, 'aria-label', (s) => s.copyInvite);
    if (typeof navigator.mediaDevices?.getDisplayMedia !== 'function') this.#btn.screen.hidden = true;

    this.#btn.mic.addEventListener('click', () => void this.#once('mic', () => this.#toggleMic()));
    this.#btn.camera.addEventListener('click', () => void this.#once('camera', () => this.#toggleCamera()));
    this.#btn.screen.addEventListener('click', () => void this.#once('screen', () => this.#toggleScreen()));
    this.#btn.hand.addEventListener('click', () => void this.meeting.setHand(!this.meeting.self.handRaised));
    this.#btn.people.addEventListener('click', () => this.#togglePanel('people'));
    this.#btn.chat.addEventListener('click', () => this.#togglePanel('chat'));
    this.#btn.leave.addEventListener('click', () => void this.leave());
    this.#btn.view.addEventListener('click', () => this.setView(this.view === 'grid' ? 'speaker' : 'grid'));
    this.#btn.invite.addEventListener('click', () => void this.#copyInvite());

    this.people = new PeoplePanel(() => this.#togglePanel(null), {
      mute: (p, source) => void this.#moderate(() => this.meeting.muteParticipant(p.id, source)),
      askToUnmute: (p, source) => void this.#moderate(async () => {
        await this.meeting.askToUnmute(p.id, source);
        this.#toast((s) => s.askedToUnmute(p.name));
      }),
      remove: (p) => void this.#moderate(async () => {
        if (await confirmDialog({ title: (s) => s.removeTitle(p.name), text: (s) => s.removeText, confirm: (s) => s.remove })) await this.meeting.removeParticipant(p.id);
      }),
      admit: (entry) => void this.#moderate(() => this.meeting.admit(entry.id)),
      refuse: (entry) => void this.#moderate(() => this.meeting.refuse(entry.id)),
      lock: (locked) => void this.#moderate(() => this.meeting.lockRoom(locked)),
      endMeeting: () => void this.#moderate(async () => {
        if (!(await confirmDialog({ title: (s) => s.endTitle, text: (s) => s.endText, confirm: (s) => s.endMeeting }))) return;
        await this.meeting.endMeeting();
        this.#end((s) => s.youEndedMeeting);
      }),
    });
    this.chat = new ChatPanel(() => this.#togglePanel(null), (text) => this.meeting.sendChat(text));

    const toolbar = el(
      'nav',
      { class: 'toolbar' },
      el('div', { class: 'tb-group' }, this.#btn.mic, this.#btn.camera, this.#btn.screen, this.#btn.hand),
      el('div', { class: 'tb-group' }, this.#btn.people, this.#btn.chat, this.#btn.leave),
    );
    attr(toolbar, 'aria-label', (s) => s.controls);
    const topbar = el(
      'header',
      { class: 'topbar' },
      el('div', { class: 'room-info' }, el('h1', { class: 'room-name' }, room), this.#count, this.#lockState),
      el('div', { class: 'top-actions' }, this.#btn.invite, this.#btn.view, languageSelect('lang-meeting')),
    );
    this.#layoutRoot = el(
      'div',
      { class: 'meeting' },
      topbar,
      el('div', { class: 'meeting-body' }, el('div', { class: 'stage-wrap' }, this.#presenting, this.#stage), this.people.panel, this.chat.panel),
      toolbar,
      this.#banners,
      this.#toasts,
      this.#audioSinks,
    );
    this.#resize = new ResizeObserver(() => this.#scheduleLayers());
    this.#resize.observe(this.#stage);
  }

  /** Called while the room's lobby holds us (the pre-join screen says so). */
  #onWaiting: (() => void) | undefined;

  /** Joins the room and starts sending; throws when joining fails (the pre-join screen shows why). */
  async join(opts: JoinOptions, micOn: boolean, onWaiting?: () => void): Promise<void> {
    this.#onWaiting = onWaiting;
    this.#micOn = micOn && Boolean(this.#microphone);
    const cb: MeetingCallbacks = {
      created: (m) => (this.meeting = m),
      waiting: () => this.#onWaiting?.(),
      joined: (p) => {
        this.#addParticipant(p);
        announce(t.joined(p.name));
        this.#layout();
      },
      left: (p) => {
        announce(t.left(p.name));
        this.#removeTile(p.id);
        this.#removeTile(`${p.id}:screen`);
        if (this.#lastRemoteSpeaker === p.id) this.#lastRemoteSpeaker = null;
        if (this.activeSpeaker === p.id) this.activeSpeaker = null;
        this.#loss.delete(p.id);
        this.#layout();
      },
      changed: (p) => this.#refreshParticipant(p),
      handChanged: (p, raised) => {
        if (!p.self) announce(raised ? t.raisedHand(p.name) : t.loweredHand(p.name));
      },
      track: (pid, producerId, source, track) => this.#onTrack(pid, producerId, source, track),
      activeSpeaker: (id) => this.#onActiveSpeaker(id),
      chat: (m) => this.#onChat(m),
      moderated: (kind, source) => {
        if (kind === 'muted' && source === 'microphone') this.#micOn = false;
        // Muted camera: switch it off here too (light off); a muted screen share ends.
        if (kind === 'muted' && source === 'camera' && this.#camera) void this.#once('camera', () => this.#toggleCamera());
        if (kind === 'muted' && source === 'screen' && this.#screen) void this.#toggleScreen();
        this.#renderToolbar();
        if (kind === 'muted') return this.#toast((s) => s.mutedByModerator(source));
        // Asked to unmute: the person decides; the notice offers the switch (if it is off).
        const isOff = source === 'microphone' ? !this.#micOn : source === 'camera' ? !this.#camera : false;
        this.#toast((s) => s.unmuteRequested(source), isOff ? { label: (s) => s.turnOn, run: () => void (source === 'microphone' ? this.#once('mic', () => this.#toggleMic()) : this.#once('camera', () => this.#toggleCamera())) } : undefined);
      },
      lobby: (waiting) => this.#onLobby(waiting),
      roomLocked: (locked) => {
        this.#renderRoomState();
        this.#toast((s) => (locked ? s.roomLockedNotice : s.roomUnlockedNotice));
      },
      connection: (state) => {
        this.#layoutRoot.dataset.connection = state;
        this.#reconnectingBanner.hidden = state === 'connected';
        if (state === 'connected') {
          this.#layoutRoot.dataset.resumes = String(this.meeting.resumes);
          announce(t.reconnected);
          this.#renderRoomState();
          for (const p of this.meeting.participants.values()) this.#refreshParticipant(p);
        }
      },
      mediaUnavailable: (code) => {
        this.#mediaBanner.hidden = code === null;
        if (code === null) delete this.#layoutRoot.dataset.mediaUnavailable;
        else this.#layoutRoot.dataset.mediaUnavailable = code;
      },
      mediaMoved: (count) => {
        this.#layoutRoot.dataset.mediaMoves = String(count);
        this.#toast((s) => s.mediaMoved);
      },
      notice: (kind) => {
        // Kept on the page for diagnostics (and tests): how media flows now.
        this.#layoutRoot.dataset.media = kind;
        this.#toast(kind === 'relay' ? (s) => s.relayNotice : (s) => s.mediaFailed);
      },
      disconnected: (code) => this.#end(code === CloseCode.MeetingEnded ? (s) => s.meetingEnded : code === CloseCode.Removed ? (s) => s.removed : (s) => s.connectionLost),
    };
    this.meeting = await Meeting.join(this.room, opts, cb);
    (window as unknown as { treffpunkt: unknown }).treffpunkt = { meeting: this.meeting, view: this };
    this.#layoutRoot.dataset.connection = 'connected';
    this.#layoutRoot.dataset.resumes = '0';
    this.#layoutRoot.dataset.mediaMoves = '0';
    this.#layoutRoot.dataset.role = this.meeting.role;

    for (const p of this.meeting.participants.values()) this.#addParticipant(p);
    this.#root.replaceChildren(this.#layoutRoot);
    document.title = `${this.room} – Treffpunkt`;
    this.#layout();
    this.#renderToolbar();
    this.#renderRoomState();
    this.#timers.push(setInterval(() => void this.#pollQuality(), QUALITY_POLL_MS));

    // Send what the person chose on the pre-join screen, then receive the others.
    const sends: Promise<void>[] = [];
    if (this.#microphone) sends.push(this.meeting.publish('microphone', this.#microphone, { paused: !micOn }));
    if (this.#camera) sends.push(this.meeting.publish('camera', this.#camera));
    void this.meeting.consumeExisting();
    await Promise.all(sends).catch((err) => console.warn('treffpunkt: publishing failed', err));
    await this.#reconcileMic().catch(() => undefined);
    this.#renderToolbar();
    this.#btn.mic.focus();
  }

  async leave(): Promise<void> {
    await this.meeting.leave();
    this.#end((s) => s.leftTitle);
  }

  setView(view: View): void {
    this.view = view;
    if (view === 'grid') this.#setPinned(null);
    localStorage.setItem('treffpunkt.view', view);
    this.#layout();
  }

  /** The tile shown large in speaker view (undefined in grid view). */
  mainTile(): Tile | undefined {
    if (this.view !== 'speaker') return undefined;
    const remoteScreens = [...this.tiles.values()].filter((x) => x.kind === 'screen' && x.participantId !== this.meeting.participantId);
    return (
      (this.pinned ? this.tiles.get(this.pinned) : undefined) ??
      remoteScreens[0] ??
      (this.#lastRemoteSpeaker ? this.tiles.get(this.#lastRemoteSpeaker) : undefined) ??
      [...this.tiles.values()].find((x) => x.kind === 'camera' && x.participantId !== this.meeting.participantId) ??
      this.tiles.get(this.meeting.participantId)
    );
  }

  // --- participants and tiles ---

  #addParticipant(p: Participant): void {
    if (this.tiles.has(p.id)) return;
    const tile = new Tile({ participantId: p.id, name: p.name, verified: p.verified, self: p.self, kind: 'camera', onPin: (x) => this.#setPinned(this.pinned === x.key ? null : x.key) });
    this.tiles.set(p.id, tile);
    this.#resize.observe(tile.el);
    if (p.self && this.#camera) tile.setTrack(this.#camera);
    this.#refreshParticipant(p);
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

  #personState(p: Participant): PersonState {
    const sources = [...p.producers.values()];
    const live = (src: MediaSource) => sources.some((x) => x.source === src && !x.paused);
    return {
      p,
      micOff: !live('microphone'),
      cameraOff: p.self ? !this.#camera : !live('camera'),
      quality: qualityOf(p, this.#loss.get(p.id)),
      speaking: this.activeSpeaker === p.id,
    };
  }

  #refreshParticipant(p: Participant): void {
    const st = this.#personState(p);
    this.tiles.get(p.id)?.update({ micOff: st.micOff, cameraOff: st.cameraOff, hand: p.handRaised, quality: st.quality, speaking: st.speaking });
    this.#renderPeople();
    if (p.self) this.#renderToolbar();
  }

  #renderPeople(): void {
    if (!this.meeting) return;
    const states = [...this.meeting.participants.values()].map((p) => this.#personState(p));
    this.people.render(states, { moderator: this.meeting.isModerator, locked: this.meeting.locked, lobby: this.meeting.lobby });
    content(this.#count, (s) => s.participants(states.length));
    this.#btn.people.dataset.count = String(states.length);
  }

  #onTrack(participantId: string, producerId: string, source: MediaSource, track: MediaStreamTrack | null): void {
    const owner = this.meeting.participants.get(participantId);
    if (source === 'microphone') {
      if (track) {
        const audio = el('audio', { autoplay: true });
        audio.srcObject = new MediaStream([track]);
        if (this.#speakerId) void setSink(audio, this.#speakerId);
        this.#audioSinks.append(audio);
        this.#audios.set(producerId, audio);
        void audio.play().catch(() => undefined);
      } else {
        const audio = this.#audios.get(producerId);
        audio?.remove();
        if (audio) audio.srcObject = null;
        this.#audios.delete(producerId);
      }
      return;
    }
    if (source === 'camera') {
      const tile = this.tiles.get(participantId);
      if (track) tile?.setTrack(track, producerId);
      else if (tile?.producerId === producerId) tile.setTrack(null);
      if (owner) this.#refreshParticipant(owner);
      this.#scheduleLayers();
      return;
    }
    // A screen share: its own tile, shown large.
    const key = `${participantId}:screen`;
    if (track && owner) {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = new Tile({ participantId, name: owner.name, verified: owner.verified, self: false, kind: 'screen', onPin: (x) => this.#setPinned(this.pinned === x.key ? null : x.key) });
        this.tiles.set(key, tile);
        this.#resize.observe(tile.el);
        announce(t.startedSharing(owner.name));
        // A new presentation is what people want to see: switch to the speaker view with it large.
        this.view = 'speaker';
      }
      tile.setTrack(track, producerId);
    } else if (!track && this.tiles.get(key)?.producerId === producerId) {
      this.#removeTile(key);
      if (owner) announce(t.stoppedSharing(owner.name));
    }
    this.#layout();
  }

  #onActiveSpeaker(id: string | null): void {
    const previous = this.activeSpeaker;
    this.activeSpeaker = id;
    if (id && id !== this.meeting.participantId) this.#lastRemoteSpeaker = id;
    for (const pid of [previous, id]) {
      const p = pid ? this.meeting.participants.get(pid) : undefined;
      if (p) this.#refreshParticipant(p);
    }
    if (this.view === 'speaker' && !this.pinned) this.#layout();
  }

  #setPinned(key: string | null): void {
    if (this.pinned) this.tiles.get(this.pinned)?.setPinned(false);
    this.pinned = key;
    if (key) {
      this.tiles.get(key)?.setPinned(true);
      this.view = 'speaker';
    }
    this.#layout();
  }

  // --- layout and simulcast layers ---

  /** Places the tiles for the current view, then asks for the layers that fit them. */
  #layout(): void {
    if (!this.meeting) return;
    const selfId = this.meeting.participantId;
    const ordered = [...this.tiles.values()].sort((a, b) => {
      const pa = this.meeting.participants.get(a.participantId);
      const pb = this.meeting.participants.get(b.participantId);
      // Screens first, then yourself, then in the order people joined.
      return Number(b.kind === 'screen') - Number(a.kind === 'screen') || Number(b.participantId === selfId) - Number(a.participantId === selfId) || (pa?.joinedAt ?? 0) - (pb?.joinedAt ?? 0);
    });
    const visible = ordered.filter((x) => !(x.kind === 'screen' && x.participantId === selfId));
    const main = this.mainTile();
    this.#stage.classList.toggle('grid-view', this.view === 'grid');
    this.#stage.classList.toggle('speaker-view', this.view === 'speaker');
    for (const tile of visible) tile.el.classList.toggle('main', tile === main);
    if (this.view === 'grid' || !main) {
      const items: HTMLElement[] = visible.map((x) => x.el);
      if (visible.length <= 1) items.push(this.#alone);
      this.#placeChildren(this.#stage, items);
      this.#gridTemplate(true);
    } else {
      this.#placeChildren(this.#spotlight, [main.el]);
      const strip = visible.filter((x) => x !== main).map((x) => x.el);
      if (visible.length <= 1) strip.push(this.#alone);
      this.#placeChildren(this.#filmstrip, strip);
      this.#placeChildren(this.#stage, [this.#spotlight, this.#filmstrip]);
      this.#filmstrip.hidden = strip.length === 0;
      this.#stage.style.gridTemplateColumns = '';
      this.#stage.style.gridTemplateRows = '';
    }
    this.#presenting.hidden = !this.#screen;
    this.#renderViewButton();
    this.#scheduleLayers();
  }

  /** Makes `parent`'s children exactly `children`, in order, moving nodes only when needed (videos keep playing). */
  #placeChildren(parent: HTMLElement, children: HTMLElement[]): void {
    const want = new Set(children);
    for (const c of [...parent.children]) if (!want.has(c as HTMLElement)) c.remove();
    children.forEach((c, i) => {
      if (parent.children[i] !== c) parent.insertBefore(c, parent.children[i] ?? null);
    });
  }

  /** Sizes the grid's tracks so the tiles are as large as fits (gridShape), centred on the stage. */
  #gridTemplate(force: boolean): void {
    const st = getComputedStyle(this.#stage);
    const padX = parseFloat(st.paddingLeft) + parseFloat(st.paddingRight);
    const padY = parseFloat(st.paddingTop) + parseFloat(st.paddingBottom);
    const gap = parseFloat(st.columnGap) || 8;
    const w = (this.#stage.clientWidth || 800) - padX;
    const h = (this.#stage.clientHeight || 500) - padY;
    const { cols, rows, tileW, tileH } = gridShape(this.#stage.children.length, w, h, gap);
    // Never smaller than a readable tile: with many people the stage scrolls instead.
    const c = `repeat(${cols}, ${Math.max(tileW, 120)}px)`;
    const r = `repeat(${rows}, ${Math.max(tileH, 90)}px)`;
    if (force || this.#stage.style.gridTemplateColumns !== c || this.#stage.style.gridTemplateRows !== r) {
      this.#stage.style.gridTemplateColumns = c;
      this.#stage.style.gridTemplateRows = r;
    }
  }

  #scheduleLayers(): void {
    if (this.#layerFrame) return;
    this.#layerFrame = requestAnimationFrame(() => {
      this.#layerFrame = 0;
      if (!this.meeting) return;
      // Grid relayout on size changes (columns and tile size depend on the stage's shape).
      if (this.view === 'grid') this.#gridTemplate(false);
      for (const tile of this.tiles.values()) {
        if (tile.kind !== 'camera' || !tile.producerId || tile.participantId === this.meeting.participantId) continue;
        const shown = tile.el.isConnected;
        const fit = tile.el.classList.contains('main') && this.view === 'speaker' ? 'contain' : 'cover';
        const v = tile.video;
        const aspect = v.videoWidth && v.videoHeight ? v.videoWidth / v.videoHeight : 16 / 9;
        const layer = shown ? layerFor(tile.el.clientWidth, tile.el.clientHeight, fit, aspect) : 0;
        tile.el.dataset.layer = String(layer);
        this.meeting.setPreferredLayer(tile.producerId, layer);
      }
    });
  }

  #renderViewButton(): void {
    const b = this.#btn.view;
    const toSpeaker = this.view === 'grid';
    b.replaceChildren(icon(toSpeaker ? 'speaker' : 'grid'), el('span', { class: 'top-label' }, tx((s) => (toSpeaker ? s.speakerView : s.gridView))));
    attr(b, 'aria-label', (s) => (toSpeaker ? s.switchToSpeaker : s.switchToGrid));
  }

  // --- toolbar actions ---

  #renderToolbar(): void {
    if (!this.meeting) return;
    const micOn = this.#micOn;
    const camOn = Boolean(this.#camera);
    const sharing = Boolean(this.#screen);
    const hand = this.meeting.self.handRaised;
    const set = (b: HTMLButtonElement, iconName: IconName, label: (s: Strings) => string, off: boolean, pressed?: boolean) => {
      // Only a changed icon is redrawn: the toolbar is refreshed on every roster change.
      if (b.dataset.icon !== iconName) {
        b.dataset.icon = iconName;
        b.querySelector('svg')?.remove();
        b.prepend(icon(iconName));
      }
      attr(b, 'aria-label', label);
      attr(b, 'data-tip', label);
      b.classList.toggle('off', off);
      if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
    };
    set(this.#btn.mic, micOn ? 'mic' : 'micOff', (s) => (micOn ? s.muteMic : s.unmuteMic), !micOn);
    set(this.#btn.camera, camOn ? 'camera' : 'cameraOff', (s) => (camOn ? s.cameraOff : s.cameraOn), !camOn);
    set(this.#btn.screen, sharing ? 'screenOff' : 'screen', (s) => (sharing ? s.stopSharing : s.shareScreen), false);
    this.#btn.screen.classList.toggle('active', sharing);
    set(this.#btn.hand, 'hand', (s) => (hand ? s.lowerHand : s.raiseHand), false);
    this.#btn.hand.classList.toggle('active', hand);
    this.#btn.people.setAttribute('aria-expanded', String(this.#panel === 'people'));
    this.#btn.chat.setAttribute('aria-expanded', String(this.#panel === 'chat'));
    this.#btn.people.classList.toggle('active', this.#panel === 'people');
    this.#btn.chat.classList.toggle('active', this.#panel === 'chat');
    this.#chatBadge.hidden = this.#unread === 0;
    this.#chatBadge.textContent = this.#unread > 9 ? '9+' : String(this.#unread);
    attr(this.#btn.chat, 'aria-label', (s) => (this.#unread ? `${s.chat}, ${s.chatUnread(this.#unread)}` : s.chat));
    attr(this.#btn.chat, 'data-tip', (s) => s.chat);
  }

  /** Runs one toggle at a time per control: a double click must not open a device twice. */
  readonly #busy = new Set<string>();
  async #once(what: string, fn: () => Promise<void>): Promise<void> {
    if (this.#busy.has(what)) return;
    this.#busy.add(what);
    try {
      await fn();
    } finally {
      this.#busy.delete(what);
    }
  }

  async #toggleMic(): Promise<void> {
    const m = this.meeting;
    const want = !this.#micOn;
    this.#micOn = want;
    this.#renderToolbar();
    announce(want ? t.micUnmutedNotice : t.micMutedNotice);
    try {
      if (want && !this.#microphone) this.#microphone = await openOne('audio', this.#microphoneId);
      if (want && this.#microphone && !m.hasProducer('microphone')) await m.publish('microphone', this.#microphone);
      await this.#reconcileMic();
    } catch (err) {
      console.warn('treffpunkt: microphone', err);
      this.#micOn = !want;
      this.#toast((s) => s.deviceError(s.microphoneLabel));
    }
    this.#renderToolbar();
  }

  /** Brings the microphone producer in line with what the person last chose (clicks may overtake requests). */
  async #reconcileMic(): Promise<void> {
    const m = this.meeting;
    if (m.hasProducer('microphone') && m.isPaused('microphone') === this.#micOn) await m.setPaused('microphone', !this.#micOn);
  }

  async #toggleCamera(): Promise<void> {
    const m = this.meeting;
    const self = this.tiles.get(m.participantId);
    try {
      if (this.#camera) {
        // Off: nothing is sent or forwarded, and the camera light goes out.
        const track = this.#camera;
        this.#camera = null;
        self?.setTrack(null);
        this.#refreshParticipant(m.self);
        announce(t.cameraOffNotice);
        await m.setPaused('camera', true);
        await m.setTrack('camera', null);
        track.stop();
      } else {
        const track = await openOne('video', this.#cameraId);
        this.#camera = track;
        self?.setTrack(track);
        this.#refreshParticipant(m.self);
        announce(t.cameraOnNotice);
        if (m.hasProducer('camera')) {
          await m.setTrack('camera', track);
          await m.setPaused('camera', false);
        } else {
          await m.publish('camera', track);
        }
      }
    } catch (err) {
      console.warn('treffpunkt: camera', err);
      this.#toast((s) => s.deviceError(s.cameraLabel));
    }
    this.#refreshParticipant(m.self);
  }

  async #toggleScreen(): Promise<void> {
    if (this.#screen) {
      const track = this.#screen;
      this.#screen = null;
      track.stop();
      this.#layout();
      this.#renderToolbar();
      await this.meeting.unpublish('screen');
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 }, width: { max: 1920 }, height: { max: 1080 } }, audio: false });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('no screen track');
      // Text and fine detail: the encoder keeps the resolution and lowers the frame rate instead.
      track.contentHint = 'text';
      track.addEventListener('ended', () => {
        if (this.#screen === track) void this.#toggleScreen();
      });
      this.#screen = track;
      this.#layout();
      this.#renderToolbar();
      await this.meeting.publish('screen', track);
    } catch (err) {
      console.warn('treffpunkt: screen share', err);
      this.#screen?.stop();
      this.#screen = null;
      this.#layout();
      if ((err as { name?: string }).name !== 'NotAllowedError') this.#toast((s) => s.shareFailed);
    }
    this.#renderToolbar();
  }

  #togglePanel(panel: Panel | null): void {
    const next = this.#panel === panel ? null : panel;
    const previous = this.#panel;
    this.#panel = next;
    this.people.panel.hidden = next !== 'people';
    this.chat.panel.hidden = next !== 'chat';
    this.#layoutRoot.classList.toggle('panel-open', next !== null);
    if (next === 'chat') {
      this.#unread = 0;
      this.chat.input.focus();
    } else if (next === 'people') {
      this.people.heading.focus();
    } else if (previous) {
      this.#btn[previous].focus();
    }
    this.#renderToolbar();
    this.#scheduleLayers();
  }

  async #copyInvite(): Promise<void> {
    const url = this.#inviteUrl();
    try {
      await navigator.clipboard.writeText(url);
      this.#toast((s) => s.inviteCopied);
    } catch {
      this.#toast((s) => `${s.inviteLabel}: ${url}`);
    }
  }

  #inviteUrl(): string {
    return `${location.origin}/${encodeURIComponent(this.room)}`;
  }

  #onChat(m: ChatMessage): void {
    this.chat.add(m);
    if (m.self) return;
    announce(t.chatFrom(m.name, m.text));
    if (this.#panel !== 'chat') {
      this.#unread++;
      this.#renderToolbar();
    }
  }

  #toast(text: (s: Strings) => string, action?: { label: (s: Strings) => string; run: () => void }): void {
    const node = el('p', { class: 'toast' }, tx(text));
    if (action) {
      const b = el('button', { type: 'button', class: 'btn small toast-action' }, tx(action.label));
      b.addEventListener('click', () => {
        node.remove();
        action.run();
      });
      node.append(b);
    }
    this.#toasts.append(node);
    setTimeout(() => node.remove(), action ? 15_000 : 8_000);
  }

  // --- moderation ---

  /** Runs a moderator action; a refusal or failure is said in a notice (the edge decides, not the page). */
  async #moderate(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (this.#ended) return;
      console.warn('treffpunkt: moderator action failed', err);
      this.#toast((s) => (err instanceof SignalingError && err.code === ErrorCode.Forbidden ? s.forbidden : s.actionFailed));
    }
  }

  #onLobby(waiting: LobbyEntry[]): void {
    const before = new Set(this.#lobbySeen);
    this.#lobbySeen = new Set(waiting.map((w) => w.id));
    for (const w of waiting) if (!before.has(w.id)) this.#toast((s) => s.waitingToJoin(w.name));
    this.#renderRoomState();
  }

  #lobbySeen = new Set<string>();

  /** Lock indicator, lobby badge and the moderation section of the list. */
  #renderRoomState(): void {
    if (!this.meeting) return;
    this.#lockState.hidden = !this.meeting.locked;
    this.#layoutRoot.dataset.role = this.meeting.role;
    const waiting = this.meeting.isModerator ? this.meeting.lobby.length : 0;
    this.#lobbyBadge.hidden = waiting === 0;
    this.#lobbyBadge.textContent = String(waiting);
    attr(this.#btn.people, 'aria-label', (s) => (waiting ? `${s.people}, ${s.lobbyHeading(waiting)}` : s.people));
    this.#renderPeople();
  }

  async #pollQuality(): Promise<void> {
    if (this.#ended) return;
    this.#loss = await this.meeting.receiveLoss();
    const sent = await this.meeting.sendLoss();
    if (sent !== undefined) this.#loss.set(this.meeting.participantId, sent);
    for (const p of this.meeting.participants.values()) {
      const tile = this.tiles.get(p.id);
      tile?.update({ quality: qualityOf(p, this.#loss.get(p.id)) });
    }
    this.#renderPeople();
  }

  #end(message: (s: Strings) => string): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#resize.disconnect();
    for (const track of [this.#camera, this.#microphone, this.#screen]) track?.stop();
    for (const a of this.#audios.values()) a.srcObject = null;
    for (const tile of this.tiles.values()) tile.setTrack(null);
    // No chat history is kept after leaving.
    this.chat.clear();
    delete (window as unknown as { treffpunkt?: unknown }).treffpunkt;
    this.#exit(message);
  }
}

