/**
 * Cameras, microphones and speakers: opening them with the person's choice, telling why one could not
 * be opened, listing them, and a microphone level meter (Web Audio AnalyserNode).
 */
import { diagnostics } from './diagnostics.ts';
import type { Strings } from './i18n.ts';

export type DeviceProblem = 'denied' | 'notFound' | 'inUse' | 'unsupported' | 'other';

/** Why getUserMedia failed, in the terms the pre-join screen explains. */
export function classify(err: unknown): DeviceProblem {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return 'notFound';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'inUse';
  if (name === 'TypeError' && !navigator.mediaDevices) return 'unsupported';
  return 'other';
}

/** Why a device could not be opened, in the person's words (the pre-join screen's notices). */
export const problemText =
  (kind: 'camera' | 'microphone', p: DeviceProblem) =>
  (s: Strings): string => {
    if (p === 'denied') return kind === 'camera' ? s.cameraDenied : s.microphoneDenied;
    if (p === 'notFound') return kind === 'camera' ? s.noCamera : s.noMicrophone;
    if (p === 'inUse') return kind === 'camera' ? s.cameraInUse : s.microphoneInUse;
    if (p === 'unsupported') return s.mediaUnsupported;
    return s.deviceError(kind === 'camera' ? s.cameraLabel : s.microphoneLabel);
  };

/**
 * The same, for a device switched on in the meeting: a denied permission says so (not "the device could
 * not be started"; issue 15), without the pre-join screen's "you can still join".
 */
export const problemInMeeting =
  (kind: 'camera' | 'microphone', p: DeviceProblem) =>
  (s: Strings): string => {
    const what = kind === 'camera' ? s.cameraLabel : s.microphoneLabel;
    if (p === 'denied') return s.deniedInMeeting(what);
    if (p === 'notFound' || p === 'inUse' || p === 'unsupported') return problemText(kind, p)(s);
    return s.deviceError(what);
  };

export function mediaSupported(): boolean {
  return typeof navigator.mediaDevices?.getUserMedia === 'function';
}

export function cameraConstraints(deviceId?: string): MediaTrackConstraints {
  const height = diagnostics.videoHeight;
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: Math.round((height * 16) / 9) },
    height: { ideal: height },
    frameRate: { ideal: 30, max: 30 },
  };
}

export function microphoneConstraints(deviceId?: string): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };
}

export interface OpenResult {
  camera?: MediaStreamTrack;
  microphone?: MediaStreamTrack;
  cameraProblem?: DeviceProblem;
  microphoneProblem?: DeviceProblem;
}

/**
 * Opens what is asked for with one permission prompt; if that fails, each device alone, so that a
 * missing camera does not cost the microphone and the reason is known per device.
 */
export async function openDevices(want: {
  camera: boolean;
  microphone: boolean;
  cameraId?: string;
  microphoneId?: string;
}): Promise<OpenResult> {
  if (!mediaSupported())
    return {
      ...(want.camera ? { cameraProblem: 'unsupported' as const } : {}),
      ...(want.microphone ? { microphoneProblem: 'unsupported' as const } : {}),
    };
  if (!want.camera && !want.microphone) return {};
  try {
    const s = await navigator.mediaDevices.getUserMedia({
      video: want.camera ? cameraConstraints(want.cameraId) : false,
      audio: want.microphone ? microphoneConstraints(want.microphoneId) : false,
    });
    return { camera: s.getVideoTracks()[0], microphone: s.getAudioTracks()[0] };
  } catch (err) {
    if (!(want.camera && want.microphone))
      return want.camera ? { cameraProblem: classify(err) } : { microphoneProblem: classify(err) };
  }
  const out: OpenResult = {};
  await Promise.all([
    openOne('video', want.cameraId).then(
      (tr) => (out.camera = tr),
      (err) => (out.cameraProblem = classify(err)),
    ),
    openOne('audio', want.microphoneId).then(
      (tr) => (out.microphone = tr),
      (err) => (out.microphoneProblem = classify(err)),
    ),
  ]);
  return out;
}

/** Opens one device; a remembered device that is gone falls back to the default one. */
export async function openOne(kind: 'video' | 'audio', deviceId?: string): Promise<MediaStreamTrack> {
  const constraints = (id?: string) =>
    kind === 'video' ? { video: cameraConstraints(id) } : { audio: microphoneConstraints(id) };
  let s: MediaStream;
  try {
    s = await navigator.mediaDevices.getUserMedia(constraints(deviceId));
  } catch (err) {
    if (!deviceId || classify(err) !== 'notFound') throw err;
    s = await navigator.mediaDevices.getUserMedia(constraints());
  }
  const track = kind === 'video' ? s.getVideoTracks()[0] : s.getAudioTracks()[0];
  if (!track) throw Object.assign(new Error('no track'), { name: 'NotFoundError' });
  return track;
}

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<DeviceLists> {
  const all = mediaSupported() ? await navigator.mediaDevices.enumerateDevices().catch(() => []) : [];
  // Devices without an id are placeholders before permission is granted: nothing to choose yet.
  const of = (kind: MediaDeviceKind) => all.filter((d) => d.kind === kind && d.deviceId);
  return { cameras: of('videoinput'), microphones: of('audioinput'), speakers: of('audiooutput') };
}

/** Whether audio output can be chosen (HTMLMediaElement.setSinkId; Chromium, Firefox 116+, Safari 18.4+). */
export function canChooseSpeaker(): boolean {
  return typeof (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId === 'function';
}

export async function setSink(media: HTMLMediaElement, sinkId: string): Promise<void> {
  const m = media as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (m.setSinkId && (m as { sinkId?: string }).sinkId !== sinkId) await m.setSinkId(sinkId).catch(() => undefined);
}

/**
 * The level of a microphone track, 0-1, reported per animation frame (RMS of the time-domain signal,
 * scaled so that speech fills most of the bar).
 */
export class LevelMeter {
  readonly #ctx: AudioContext;
  readonly #source: MediaStreamAudioSourceNode;
  readonly #analyser: AnalyserNode;
  #raf = 0;

  constructor(track: MediaStreamTrack, onLevel: (level: number) => void) {
    this.#ctx = new AudioContext();
    this.#source = this.#ctx.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = this.#ctx.createAnalyser();
    this.#analyser.fftSize = 512;
    this.#source.connect(this.#analyser);
    const buf = new Float32Array(this.#analyser.fftSize);
    let smoothed = 0;
    const tick = () => {
      this.#analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      const level = Math.min(1, rms * 4);
      smoothed = Math.max(level, smoothed * 0.85);
      onLevel(smoothed);
      this.#raf = requestAnimationFrame(tick);
    };
    this.#raf = requestAnimationFrame(tick);
  }

  /** Browsers start an AudioContext suspended until a user gesture; call from one. */
  resume(): void {
    void this.#ctx.resume().catch(() => undefined);
  }

  stop(): void {
    cancelAnimationFrame(this.#raf);
    this.#source.disconnect();
    void this.#ctx.close().catch(() => undefined);
  }
}
