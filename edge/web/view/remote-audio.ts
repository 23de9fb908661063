/**
 * The others' microphones: one hidden <audio> element per remote audio track, played on the speaker
 * chosen before joining (where the browser lets a page choose). Video tiles stay muted; sound comes
 * only from here.
 */
import { setSink } from '../devices.ts';
import { el } from '../dom.ts';

export class RemoteAudio {
  readonly sinks: HTMLElement = el('div', { class: 'audio-sinks', hidden: true });
  readonly #audios = new Map<string, HTMLAudioElement>();
  readonly #speakerId: string | undefined;

  constructor(speakerId: string | undefined) {
    this.#speakerId = speakerId;
  }

  /** Plays a producer's track, or (null) stops playing it. */
  set(producerId: string, track: MediaStreamTrack | null): void {
    if (track) {
      const audio = el('audio', { autoplay: true });
      audio.srcObject = new MediaStream([track]);
      if (this.#speakerId) void setSink(audio, this.#speakerId);
      this.sinks.append(audio);
      this.#audios.set(producerId, audio);
      void audio.play().catch(() => undefined);
    } else {
      const audio = this.#audios.get(producerId);
      audio?.remove();
      if (audio) audio.srcObject = null;
      this.#audios.delete(producerId);
    }
  }

  stop(): void {
    for (const a of this.#audios.values()) a.srcObject = null;
  }
}
