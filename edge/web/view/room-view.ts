/**
 * The meeting screen, put together from its parts: the top bar (top-bar.ts), the stage with the video
 * tiles (stage.ts), the toolbar (toolbar.ts), our own camera, microphone and screen (local-media.ts),
 * the others' sound (remote-audio.ts), the side panels (side-panels.ts, people-panel.ts with the
 * moderator actions of moderation.ts, chat-panel.ts), notices and banners (notices.ts), the state of
 * the connection (connection-status.ts) and the quality indicator (quality.ts). This class joins the
 * meeting (meeting/meeting.ts) and passes its events on to the parts.
 *
 * For tests and diagnostics the meeting element carries `data-role` (here) and the connection's and
 * media's state (connection-status.ts).
 */
import type { MediaSource } from '../../../shared/media-types.ts';
import { CloseCode } from '../../../shared/signaling.ts';
import { announce, el } from '../dom.ts';
import { t, type Strings } from '../i18n.ts';
import { Meeting } from '../meeting/meeting.ts';
import type { JoinOptions, MeetingCallbacks, Participant } from '../meeting/types.ts';
import { ChatPanel } from './chat-panel.ts';
import { PeoplePanel, type PersonState } from './people-panel.ts';
import type { JoinChoice } from '../prejoin.ts';
import { ConnectionStatus } from './connection-status.ts';
import { copyInvite, inviteUrl } from './invite.ts';
import { LocalMedia } from './local-media.ts';
import { LobbyWatch, moderationActions } from './moderation.ts';
import { Notices } from './notices.ts';
import { QualityMonitor } from './quality.ts';
import { RemoteAudio } from './remote-audio.ts';
import { SidePanels } from './side-panels.ts';
import { Stage } from './stage.ts';
import { Toolbar } from './toolbar.ts';
import { TopBar } from './top-bar.ts';

export class RoomView {
  readonly room: string;
  meeting!: Meeting;
  /** The tiles and the layout (tests and diagnostics read it as window.treffpunkt.view.stage). */
  readonly stage: Stage;
  readonly people: PeoplePanel;
  readonly chat: ChatPanel;
  readonly #root: HTMLElement;
  readonly #exit: (message: (s: Strings) => string) => void;
  readonly #layoutRoot: HTMLElement;
  readonly #local: LocalMedia;
  readonly #audio: RemoteAudio;
  readonly #notices = new Notices(() => void this.meeting.retryMedia());
  readonly #quality = new QualityMonitor();
  readonly #lobby = new LobbyWatch();
  readonly #toolbar: Toolbar;
  readonly #topBar: TopBar;
  readonly #panels: SidePanels;
  readonly #status: ConnectionStatus;
  #ended = false;

  constructor(root: HTMLElement, room: string, choice: JoinChoice, exit: (message: (s: Strings) => string) => void) {
    this.#root = root;
    this.room = room;
    this.#exit = exit;
    const toast = this.#notices.toast.bind(this.#notices);
    this.#local = new LocalMedia(choice, {
      meeting: () => this.meeting,
      changed: () => this.#renderToolbar(),
      selfChanged: () => this.#refreshParticipant(this.meeting.self),
      selfVideo: (track) => this.stage.tiles.get(this.meeting.participantId)?.setTrack(track),
      screenChanged: () => this.stage.layout(),
      toast,
    });
    this.#audio = new RemoteAudio(choice.speakerId);
    this.stage = new Stage(inviteUrl(room), {
      meeting: () => this.meeting,
      invite: () => void copyInvite(room, toast),
      laidOut: (view) => {
        this.#local.presentingBar.hidden = !this.#local.sharing;
        this.#topBar.renderView(view);
      },
    });
    this.#toolbar = new Toolbar({
      mic: () => void this.#local.toggleMic(),
      camera: () => void this.#local.toggleCamera(),
      screen: () => void this.#local.toggleScreen(),
      hand: () => void this.meeting.setHand(!this.meeting.self.handRaised),
      people: () => this.#panels.toggle('people'),
      chat: () => this.#panels.toggle('chat'),
      leave: () => void this.leave(),
    });
    this.#topBar = new TopBar(room, {
      invite: () => void copyInvite(room, toast),
      toggleView: () => this.stage.setView(this.stage.view === 'grid' ? 'speaker' : 'grid'),
    });
    this.people = new PeoplePanel(
      () => this.#panels.toggle(null),
      moderationActions({
        meeting: () => this.meeting,
        toast,
        ended: () => this.#ended,
        endedByUs: () => this.#end((s) => s.youEndedMeeting),
      }),
    );
    this.chat = new ChatPanel(
      () => this.#panels.toggle(null),
      (text) => this.meeting.sendChat(text),
    );
    this.#panels = new SidePanels(this.people, this.chat, {
      changed: (open) => {
        this.#layoutRoot.classList.toggle('panel-open', open !== null);
        this.#renderToolbar();
        this.stage.scheduleLayers();
      },
      closed: (panel) => this.#toolbar.focus(panel),
    });
    this.#layoutRoot = el(
      'div',
      { class: 'meeting' },
      this.#topBar.el,
      el(
        'div',
        { class: 'meeting-body' },
        el('div', { class: 'stage-wrap' }, this.#local.presentingBar, this.stage.el),
        this.people.panel,
        this.chat.panel,
      ),
      this.#toolbar.el,
      this.#notices.banners,
      this.#notices.toasts,
      this.#audio.sinks,
    );
    this.#status = new ConnectionStatus(this.#layoutRoot, this.#notices);
  }

  /** Joins the room and starts sending; throws when joining fails (the pre-join screen shows why). */
  async join(opts: JoinOptions, micOn: boolean, onWaiting?: (cancel: () => void) => void): Promise<void> {
    this.#local.chooseMic(micOn);
    this.meeting = await Meeting.join(this.room, opts, this.#callbacks(onWaiting));
    (window as unknown as { treffpunkt: unknown }).treffpunkt = { meeting: this.meeting, view: this };
    this.#status.joined();
    this.#layoutRoot.dataset.role = this.meeting.role;

    for (const p of this.meeting.participants.values()) this.#addParticipant(p);
    this.#root.replaceChildren(this.#layoutRoot);
    this.#sameNameNotice();
    document.title = `${this.room} – Treffpunkt`;
    this.stage.layout();
    this.#renderToolbar();
    this.#renderRoomState();
    this.#quality.start(this.meeting, () => {
      for (const p of this.meeting.participants.values())
        this.stage.tiles.get(p.id)?.update({ quality: this.#quality.of(p) });
      this.#renderPeople();
    });

    // Send what the person chose on the pre-join screen, then receive the others.
    const sending = this.#local.publishChosen(micOn);
    void this.meeting.consumeExisting();
    await sending;
    this.#renderToolbar();
    this.#toolbar.focus('mic');
  }

  async leave(): Promise<void> {
    await this.meeting.leave();
    this.#end((s) => s.leftTitle);
  }

  /** What each of the meeting's events changes on the screen; `onWaiting` while the lobby holds us. */
  #callbacks(onWaiting: ((cancel: () => void) => void) | undefined): MeetingCallbacks {
    const toast = this.#notices.toast.bind(this.#notices);
    return {
      created: (m) => (this.meeting = m),
      waiting: (cancel) => onWaiting?.(cancel),
      joined: (p) => {
        this.#addParticipant(p);
        announce(t.joined(p.name));
        this.stage.layout();
      },
      left: (p) => {
        announce(t.left(p.name));
        this.stage.removeParticipant(p.id);
        this.#quality.forget(p.id);
        this.stage.layout();
      },
      changed: (p) => this.#refreshParticipant(p),
      handChanged: (p, raised) => {
        if (!p.self) announce(raised ? t.raisedHand(p.name) : t.loweredHand(p.name));
      },
      track: (pid, producerId, source, track) => this.#onTrack(pid, producerId, source, track),
      activeSpeaker: (id) => {
        const previous = this.stage.setActiveSpeaker(id, this.meeting.participantId);
        for (const pid of [previous, id]) {
          const p = pid ? this.meeting.participants.get(pid) : undefined;
          if (p) this.#refreshParticipant(p);
        }
        if (this.stage.view === 'speaker' && !this.stage.pinned) this.stage.layout();
      },
      chat: (m) => this.#panels.onChat(m),
      moderated: (kind, source) => this.#local.moderated(kind, source),
      lobby: (waiting) => {
        this.#lobby.update(waiting, toast);
        this.#renderRoomState();
      },
      roomLocked: (locked) => {
        this.#renderRoomState();
        toast((s) => (locked ? s.roomLockedNotice : s.roomUnlockedNotice));
      },
      connection: (state) => {
        this.#status.connection(state, this.meeting.resumes);
        if (state !== 'connected') return;
        this.#renderRoomState();
        for (const p of this.meeting.participants.values()) this.#refreshParticipant(p);
      },
      mediaUnavailable: (code) => this.#status.mediaUnavailable(code),
      mediaMoved: (count) => this.#status.mediaMoved(count),
      // Same page, same person, a new participant id: our tile follows the id.
      rejoined: (formerId) => {
        this.stage.removeParticipant(formerId);
        this.#quality.forget(formerId);
        this.#addParticipant(this.meeting.self);
        this.stage.layout();
        this.#status.rejoined(this.meeting.rejoins);
      },
      notice: (kind, tried, paths) => this.#status.mediaPath(kind, tried, paths),
      disconnected: (code) =>
        this.#end(
          code === CloseCode.MeetingEnded
            ? (s) => s.meetingEnded
            : code === CloseCode.Removed
              ? (s) => s.removed
              : (s) => s.connectionLost,
        ),
    };
  }

  /**
   * Someone here already has our name (typed names are not unique; often it is us in another tab):
   * say so, instead of joining silently as a second "Ada" (issue 15).
   */
  #sameNameNotice(): void {
    const mine = this.meeting.self.name.trim().toLocaleLowerCase();
    const twin = [...this.meeting.participants.values()].find(
      (p) => !p.self && p.name.trim().toLocaleLowerCase() === mine,
    );
    if (twin) this.#notices.toast((s) => s.sameName(twin.name));
  }

  #addParticipant(p: Participant): void {
    if (this.stage.tiles.has(p.id)) return;
    this.stage.addParticipant(p, this.#local.camera);
    this.#refreshParticipant(p);
  }

  #onTrack(participantId: string, producerId: string, source: MediaSource, track: MediaStreamTrack | null): void {
    const owner = this.meeting.participants.get(participantId);
    if (source === 'microphone') {
      this.#audio.set(producerId, track);
    } else if (source === 'screen') {
      this.stage.setScreen(owner, participantId, producerId, track);
    } else {
      this.stage.setCamera(participantId, producerId, track);
      if (owner) this.#refreshParticipant(owner);
    }
  }

  #personState(p: Participant): PersonState {
    const sources = [...p.producers.values()];
    const live = (src: MediaSource) => sources.some((x) => x.source === src && !x.paused);
    return {
      p,
      micOff: !live('microphone'),
      cameraOff: p.self ? !this.#local.camera : !live('camera'),
      quality: this.#quality.of(p),
      speaking: this.stage.activeSpeaker === p.id,
    };
  }

  #refreshParticipant(p: Participant): void {
    const st = this.#personState(p);
    this.stage.tiles.get(p.id)?.update({
      micOff: st.micOff,
      cameraOff: st.cameraOff,
      hand: p.handRaised,
      quality: st.quality,
      speaking: st.speaking,
    });
    this.#renderPeople();
    if (p.self) this.#renderToolbar();
  }

  #renderPeople(): void {
    if (!this.meeting) return;
    const states = [...this.meeting.participants.values()].map((p) => this.#personState(p));
    this.people.render(states, {
      moderator: this.meeting.isModerator,
      locked: this.meeting.locked,
      lobby: this.meeting.lobby,
    });
    this.#topBar.setCount(states.length);
    this.#toolbar.setCount(states.length);
  }

  /** Lock indicator, lobby badge and the moderation section of the list. */
  #renderRoomState(): void {
    if (!this.meeting) return;
    this.#topBar.setLocked(this.meeting.locked);
    this.#layoutRoot.dataset.role = this.meeting.role;
    this.#toolbar.setWaiting(this.meeting.isModerator ? this.meeting.lobby.length : 0);
    this.#renderPeople();
  }

  #renderToolbar(): void {
    if (!this.meeting) return;
    this.#toolbar.render({
      micOn: this.#local.micOn,
      cameraOn: Boolean(this.#local.camera),
      sharing: this.#local.sharing,
      handRaised: this.meeting.self.handRaised,
      panel: this.#panels.open,
      unreadChat: this.#panels.unread,
    });
  }

  #end(message: (s: Strings) => string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#quality.stop();
    this.stage.stop();
    this.#local.stop();
    this.#audio.stop();
    // No chat history is kept after leaving.
    this.chat.clear();
    delete (window as unknown as { treffpunkt?: unknown }).treffpunkt;
    this.#exit(message);
  }
}
