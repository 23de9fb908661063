/**
 * Our own camera, microphone and screen share: the tracks from the pre-join screen (or opened when
 * switched on), the toggles in the toolbar, the "you are presenting" bar, and what a moderator's mute
 * or request means here. The meeting sends what this part decides; the person's choice wins over
 * requests still under way (reconcileMic).
 */
import type { MediaSource } from '../../../shared/media-types.ts';
import { classify, openOne, problemInMeeting } from '../devices.ts';
import { announce, el, tx } from '../dom.ts';
import { t } from '../i18n.ts';
import { icon } from '../icons.ts';
import type { Meeting } from '../meeting/meeting.ts';
import type { JoinChoice } from '../prejoin.ts';
import type { ToastAction } from './notices.ts';
import type { Strings } from '../i18n.ts';

export interface LocalMediaHooks {
  meeting(): Meeting;
  /** Our state changed: redraw the toolbar. */
  changed(): void;
  /** Our camera or its state changed: redraw our tile, the list and the toolbar. */
  selfChanged(): void;
  /** Our camera track for our own tile (null: camera off). */
  selfVideo(track: MediaStreamTrack | null): void;
  /** A screen share started or ended: lay the stage out again. */
  screenChanged(): void;
  toast(text: (s: Strings) => string, action?: ToastAction): void;
}

export class LocalMedia {
  /** Shown to the presenter while sharing, with a stop button. */
  readonly presentingBar: HTMLElement;
  #camera: MediaStreamTrack | null;
  #microphone: MediaStreamTrack | null;
  #screen: MediaStreamTrack | null = null;
  /** What the person chose for the microphone (the producer follows: #reconcileMic). */
  #micOn = false;
  readonly #cameraId: string | undefined;
  readonly #microphoneId: string | undefined;
  readonly #hooks: LocalMediaHooks;
  /** Runs one toggle at a time per control: a double click must not open a device twice. */
  readonly #busy = new Set<string>();

  constructor(choice: JoinChoice, hooks: LocalMediaHooks) {
    this.#camera = choice.camera;
    this.#microphone = choice.microphone;
    this.#cameraId = choice.cameraId;
    this.#microphoneId = choice.microphoneId;
    this.#hooks = hooks;
    const stopShare = el(
      'button',
      { type: 'button', class: 'btn danger small' },
      tx((s) => s.stopSharing),
    );
    stopShare.addEventListener('click', () => void this.#toggleScreen());
    this.presentingBar = el(
      'div',
      { class: 'presenting', hidden: true },
      icon('screen'),
      el(
        'span',
        {},
        tx((s) => s.youArePresenting),
      ),
      stopShare,
    );
  }

  get camera(): MediaStreamTrack | null {
    return this.#camera;
  }

  get micOn(): boolean {
    return this.#micOn;
  }

  get sharing(): boolean {
    return this.#screen !== null;
  }

  /** Whether the microphone is to be on once joined (the pre-join choice, if there is a microphone). */
  chooseMic(on: boolean): void {
    this.#micOn = on && Boolean(this.#microphone);
  }

  /** Starts sending what the person chose before joining (a muted microphone is sent paused). */
  async publishChosen(micOn: boolean): Promise<void> {
    const m = this.#hooks.meeting();
    const sends: Promise<void>[] = [];
    if (this.#microphone) sends.push(m.publish('microphone', this.#microphone, { paused: !micOn }));
    if (this.#camera) sends.push(m.publish('camera', this.#camera));
    await Promise.all(sends).catch((err) => console.warn('treffpunkt: publishing failed', err));
    await this.#reconcileMic().catch(() => undefined);
  }

  toggleMic(): Promise<void> {
    return this.#once('mic', () => this.#toggleMic());
  }

  toggleCamera(): Promise<void> {
    return this.#once('camera', () => this.#toggleCamera());
  }

  toggleScreen(): Promise<void> {
    return this.#once('screen', () => this.#toggleScreen());
  }

  /** A moderator muted one of our sources (already paused by the meeting) or asks us to turn one on. */
  moderated(kind: 'muted' | 'unmuteRequested', source: MediaSource): void {
    if (kind === 'muted' && source === 'microphone') this.#micOn = false;
    // Muted camera: switch it off here too (light off); a muted screen share ends.
    if (kind === 'muted' && source === 'camera' && this.#camera) void this.toggleCamera();
    if (kind === 'muted' && source === 'screen' && this.#screen) void this.#toggleScreen();
    this.#hooks.changed();
    if (kind === 'muted') {
      this.#hooks.toast((s) => s.mutedByModerator(source));
      return;
    }
    // Asked to unmute: the person decides; the notice offers the switch (if it is off).
    const isOff = source === 'microphone' ? !this.#micOn : source === 'camera' ? !this.#camera : false;
    this.#hooks.toast(
      (s) => s.unmuteRequested(source),
      isOff
        ? { label: (s) => s.turnOn, run: () => void (source === 'microphone' ? this.toggleMic() : this.toggleCamera()) }
        : undefined,
    );
  }

  /** Stops every local track (the meeting is over). */
  stop(): void {
    for (const track of [this.#camera, this.#microphone, this.#screen]) track?.stop();
  }

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
    const m = this.#hooks.meeting();
    const want = !this.#micOn;
    this.#micOn = want;
    this.#hooks.changed();
    announce(want ? t.micUnmutedNotice : t.micMutedNotice);
    try {
      if (want && !this.#microphone) this.#microphone = await openOne('audio', this.#microphoneId);
      if (want && this.#microphone && !m.hasProducer('microphone')) await m.publish('microphone', this.#microphone);
      await this.#reconcileMic();
    } catch (err) {
      console.warn('treffpunkt: microphone', err);
      this.#micOn = !want;
      this.#hooks.toast(problemInMeeting('microphone', classify(err)));
    }
    this.#hooks.changed();
  }

  /** Brings the microphone producer in line with what the person last chose (clicks may overtake requests). */
  async #reconcileMic(): Promise<void> {
    const m = this.#hooks.meeting();
    if (m.hasProducer('microphone') && m.isPaused('microphone') === this.#micOn)
      await m.setPaused('microphone', !this.#micOn);
  }

  async #toggleCamera(): Promise<void> {
    const m = this.#hooks.meeting();
    try {
      if (this.#camera) {
        // Off: nothing is sent or forwarded, and the camera light goes out.
        const track = this.#camera;
        this.#camera = null;
        this.#hooks.selfVideo(null);
        this.#hooks.selfChanged();
        announce(t.cameraOffNotice);
        await m.setPaused('camera', true);
        await m.setTrack('camera', null);
        track.stop();
      } else {
        const track = await openOne('video', this.#cameraId);
        this.#camera = track;
        this.#hooks.selfVideo(track);
        this.#hooks.selfChanged();
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
      this.#hooks.toast(problemInMeeting('camera', classify(err)));
    }
    this.#hooks.selfChanged();
  }

  async #toggleScreen(): Promise<void> {
    if (this.#screen) {
      const track = this.#screen;
      this.#screen = null;
      track.stop();
      this.#hooks.screenChanged();
      this.#hooks.changed();
      await this.#hooks.meeting().unpublish('screen');
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 15, max: 30 }, width: { max: 1920 }, height: { max: 1080 } },
        audio: false,
      });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('no screen track');
      // Text and fine detail: the encoder keeps the resolution and lowers the frame rate instead.
      track.contentHint = 'text';
      track.addEventListener('ended', () => {
        if (this.#screen === track) void this.#toggleScreen();
      });
      this.#screen = track;
      this.#hooks.screenChanged();
      this.#hooks.changed();
      await this.#hooks.meeting().publish('screen', track);
    } catch (err) {
      console.warn('treffpunkt: screen share', err);
      this.#screen?.stop();
      this.#screen = null;
      this.#hooks.screenChanged();
      if ((err as { name?: string }).name !== 'NotAllowedError') this.#hooks.toast((s) => s.shareFailed);
    }
    this.#hooks.changed();
  }
}
