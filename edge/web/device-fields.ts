/**
 * The pre-join screen's camera, microphone and speaker choices: three labelled selects, filled from the
 * browser's device list. A kind with no device at all has no field (an empty dropdown explains nothing;
 * the screen's notice says what is missing); the speaker field only where audio output can be chosen.
 */
import { canChooseSpeaker, listDevices, type DeviceLists } from './devices.ts';
import { el, tx } from './dom.ts';
import type { Strings } from './i18n.ts';
import { stored } from './stored-choices.ts';

export class DeviceFields {
  readonly camera = el('select', { id: 'camera-select' });
  readonly microphone = el('select', { id: 'mic-select' });
  readonly speaker = el('select', { id: 'speaker-select' });
  readonly cameraRow: HTMLElement;
  readonly microphoneRow: HTMLElement;
  readonly speakerRow: HTMLElement;
  lists: DeviceLists = { cameras: [], microphones: [], speakers: [] };

  /** `meter`: the level meter shown under the microphone choice. */
  constructor(meter: HTMLElement) {
    const row = (id: string, label: (s: Strings) => string, select: HTMLSelectElement, extra?: HTMLElement) =>
      el('div', { class: 'field' }, el('label', { for: id }, tx(label)), select, extra);
    this.cameraRow = row('camera-select', (s) => s.cameraLabel, this.camera);
    this.microphoneRow = row('mic-select', (s) => s.microphoneLabel, this.microphone, meter);
    this.speakerRow = row('speaker-select', (s) => s.speakerLabel, this.speaker);
    this.speaker.addEventListener('change', () => stored.set('speakerId', this.speaker.value));
  }

  /** The chosen speaker, where one can be chosen. */
  get speakerId(): string | undefined {
    return this.speakerRow.hidden ? undefined : this.speaker.value || undefined;
  }

  /** Lists the devices again and selects the ones in use (or remembered). */
  async refresh(cameraInUse: string | undefined, microphoneInUse: string | undefined): Promise<void> {
    this.lists = await listDevices();
    const { cameras, microphones, speakers } = this.lists;
    fill(this.camera, cameras, cameraInUse ?? stored.get('cameraId'), (s, n) => s.deviceFallback(s.cameraLabel, n));
    fill(this.microphone, microphones, microphoneInUse ?? stored.get('microphoneId'), (s, n) =>
      s.deviceFallback(s.microphoneLabel, n),
    );
    fill(
      this.speaker,
      speakers.filter((d) => d.deviceId !== 'default'),
      stored.get('speakerId'),
      (s, n) => s.deviceFallback(s.speakerLabel, n),
      true,
    );
    this.cameraRow.hidden = cameras.length === 0;
    this.microphoneRow.hidden = microphones.length === 0;
    this.speakerRow.hidden = !canChooseSpeaker() || speakers.length === 0;
  }
}

function fill(
  select: HTMLSelectElement,
  devices: MediaDeviceInfo[],
  current: string | undefined,
  fallback: (s: Strings, n: number) => string,
  withDefault = false,
): void {
  select.replaceChildren();
  if (withDefault)
    select.append(
      el(
        'option',
        { value: '' },
        tx((s) => s.systemDefault),
      ),
    );
  for (const [i, d] of devices.entries())
    select.append(el('option', { value: d.deviceId }, d.label || tx((s) => fallback(s, i + 1))));
  if (current && devices.some((d) => d.deviceId === current)) select.value = current;
  select.disabled = devices.length === 0;
}
