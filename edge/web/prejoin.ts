/**
 * The pre-join screen: name, camera/microphone/speaker choice with a live preview and a microphone
 * level meter, camera and microphone switchable before joining, and a clear message when a device is
 * missing or access was denied. Resolves the person's choice when they press "Join".
 */
import { attr, content, el, tx } from './dom.ts';
import {
  canChooseSpeaker,
  LevelMeter,
  listDevices,
  openDevices,
  openOne,
  classify,
  type DeviceProblem,
  type DeviceLists,
} from './devices.ts';
import { icon } from './icons.ts';
import type { Strings } from './i18n.ts';
import { languageSelect } from './language.ts';

export interface JoinChoice {
  name: string;
  camera: MediaStreamTrack | null;
  microphone: MediaStreamTrack | null;
  /** false: join muted (the microphone track is kept, so unmuting is instant). */
  micOn: boolean;
  cameraId?: string;
  microphoneId?: string;
  speakerId?: string;
}

const store = {
  get: (k: string) => {
    try {
      return localStorage.getItem(`treffpunkt.${k}`) ?? undefined;
    } catch {
      return undefined;
    }
  },
  set: (k: string, v: string) => {
    try {
      localStorage.setItem(`treffpunkt.${k}`, v);
    } catch {
      // Storage disabled: choices last for this page only.
    }
  },
};

const problemText = (kind: 'camera' | 'microphone', p: DeviceProblem) => (s: Strings) => {
  if (p === 'denied') return kind === 'camera' ? s.cameraDenied : s.microphoneDenied;
  if (p === 'notFound') return kind === 'camera' ? s.noCamera : s.noMicrophone;
  if (p === 'inUse') return kind === 'camera' ? s.cameraInUse : s.microphoneInUse;
  if (p === 'unsupported') return s.mediaUnsupported;
  return s.deviceError(kind === 'camera' ? s.cameraLabel : s.microphoneLabel);
};

/**
 * Shows the pre-join screen in `root`; `onJoin` is called with the choice and may throw (the error is
 * shown and the person can try again). `invitedAs`: the page joins with a join token, whose name is
 * used (null: a token whose name this page cannot read); no name is asked for.
 */
export function preJoin(
  root: HTMLElement,
  room: string,
  message: string | ((s: Strings) => string) | undefined,
  onJoin: (c: JoinChoice, waiting: () => void) => Promise<void>,
  opts: { invitedAs?: string | null } = {},
): void {
  const withToken = opts.invitedAs !== undefined;
  let camera: MediaStreamTrack | null = null;
  let microphone: MediaStreamTrack | null = null;
  let cameraOn = store.get('cameraOff') !== '1';
  let micOn = store.get('micOff') !== '1';
  let problems: { camera?: DeviceProblem; microphone?: DeviceProblem } = {};
  let meter: LevelMeter | undefined;
  let leaving = false;
  /** The devices have been opened (or found missing): the buttons reflect them from now on. */
  let ready = false;

  const preview = el('video', { class: 'preview', autoplay: true, playsinline: true, muted: true });
  preview.muted = true;
  attr(preview, 'aria-label', (s) => s.preview);
  const previewOffText = el('span', {});
  const previewOff = el('div', { class: 'preview-off' }, icon('cameraOff'), previewOffText);
  const micBtn = el('button', { type: 'button', class: 'round', id: 'prejoin-mic' });
  const camBtn = el('button', { type: 'button', class: 'round', id: 'prejoin-camera' });
  const meterFill = el('span', { class: 'meter-fill' });
  const meterBar = el(
    'div',
    { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' },
    meterFill,
  );
  attr(meterBar, 'aria-label', (s) => s.micLevel);

  const name = el('input', {
    id: 'name',
    name: 'name',
    required: true,
    maxlength: '64',
    autocomplete: 'name',
    value: store.get('name') ?? '',
    'aria-describedby': 'name-error',
  });
  const nameError = el('div', { id: 'name-error', class: 'field-error' });
  const cameraSelect = el('select', { id: 'camera-select' });
  const micSelect = el('select', { id: 'mic-select' });
  const speakerSelect = el('select', { id: 'speaker-select' });
  const speakerRow = el(
    'div',
    { class: 'field' },
    el(
      'label',
      { for: 'speaker-select' },
      tx((s) => s.speakerLabel),
    ),
    speakerSelect,
  );
  const notices = el('div', { class: 'notices', role: 'status' });
  const error = el('div', { class: 'error', role: 'alert' });
  const joinBtn = el('button', { class: 'btn primary', type: 'submit', id: 'join' });
  const joinLabel = el('span', {});
  joinBtn.append(joinLabel);
  let joining = false;
  content(joinLabel, (s) => (joining ? s.joining : message ? s.rejoin : s.join));

  const form = el(
    'form',
    { class: 'prejoin-form', novalidate: true },
    el(
      'h1',
      {},
      tx((s) => s.readyToJoin),
    ),
    el(
      'p',
      { class: 'room-line' },
      tx((s) => s.roomHeading(room)),
    ),
    message
      ? el(
          'p',
          { class: 'message', role: 'status' },
          tx((s) => (typeof message === 'string' ? message : message(s))),
        )
      : null,
    withToken
      ? el(
          'p',
          { class: 'invited-as', id: 'invited-as' },
          tx((s) => (opts.invitedAs ? s.joinAs(opts.invitedAs) : s.joinWithInvitation)),
        )
      : el(
          'div',
          { class: 'field' },
          el(
            'label',
            { for: 'name' },
            tx((s) => s.nameLabel),
          ),
          name,
          nameError,
        ),
    el(
      'div',
      { class: 'field' },
      el(
        'label',
        { for: 'camera-select' },
        tx((s) => s.cameraLabel),
      ),
      cameraSelect,
    ),
    el(
      'div',
      { class: 'field' },
      el(
        'label',
        { for: 'mic-select' },
        tx((s) => s.microphoneLabel),
      ),
      micSelect,
      meterBar,
    ),
    speakerRow,
    notices,
    joinBtn,
    error,
  );

  const previewBox = el(
    'div',
    { class: 'preview-box' },
    preview,
    previewOff,
    el('div', { class: 'preview-buttons' }, micBtn, camBtn),
  );
  const screen = el(
    'div',
    { class: 'prejoin' },
    el(
      'header',
      { class: 'brand-bar' },
      el(
        'span',
        { class: 'brand' },
        tx((s) => s.title),
      ),
      languageSelect('lang-prejoin'),
    ),
    el('section', { class: 'prejoin-card' }, previewBox, form),
  );
  root.replaceChildren(screen);
  document.title = `${room} – Treffpunkt`;

  const renderButtons = () => {
    micBtn.replaceChildren(icon(micOn && microphone ? 'mic' : 'micOff'));
    camBtn.replaceChildren(icon(cameraOn && camera ? 'camera' : 'cameraOff'));
    attr(micBtn, 'aria-label', (s) => (micOn ? s.muteMic : s.unmuteMic));
    attr(camBtn, 'aria-label', (s) => (cameraOn ? s.cameraOff : s.cameraOn));
    micBtn.classList.toggle('off', !micOn || !microphone);
    camBtn.classList.toggle('off', !cameraOn || !camera);
    micBtn.disabled = !ready || (!microphone && problems.microphone === 'notFound');
    camBtn.disabled = !ready || (!camera && problems.camera === 'notFound');
    previewBox.classList.toggle('has-video', Boolean(camera && cameraOn));
    content(previewOffText, (s) => (problems.camera && !camera ? s.cameraUnavailable : s.cameraIsOff));
    meterBar.classList.toggle('muted', !micOn || !microphone);
  };
  const renderNotices = () => {
    notices.replaceChildren();
    for (const kind of ['camera', 'microphone'] as const) {
      const p = problems[kind];
      if (p) notices.append(el('p', { class: 'notice' }, tx(problemText(kind, p))));
    }
  };

  const fillSelect = (
    select: HTMLSelectElement,
    devices: MediaDeviceInfo[],
    current: string | undefined,
    fallback: (s: Strings, n: number) => string,
    withDefault = false,
  ) => {
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
  };
  let lists: DeviceLists = { cameras: [], microphones: [], speakers: [] };
  const refreshDevices = async () => {
    lists = await listDevices();
    fillSelect(cameraSelect, lists.cameras, camera?.getSettings().deviceId ?? store.get('cameraId'), (s, n) =>
      s.deviceFallback(s.cameraLabel, n),
    );
    fillSelect(micSelect, lists.microphones, microphone?.getSettings().deviceId ?? store.get('microphoneId'), (s, n) =>
      s.deviceFallback(s.microphoneLabel, n),
    );
    fillSelect(
      speakerSelect,
      lists.speakers.filter((d) => d.deviceId !== 'default'),
      store.get('speakerId'),
      (s, n) => s.deviceFallback(s.speakerLabel, n),
      true,
    );
    speakerRow.hidden = !canChooseSpeaker() || lists.speakers.length === 0;
  };

  const showCamera = () => {
    preview.srcObject = camera && cameraOn ? new MediaStream([camera]) : null;
    if (camera && cameraOn) void preview.play().catch(() => undefined);
  };
  const startMeter = () => {
    meter?.stop();
    meter = undefined;
    if (!microphone) return;
    let lastAria = 0;
    meter = new LevelMeter(microphone, (level) => {
      meterFill.style.transform = `scaleX(${micOn ? level.toFixed(3) : 0})`;
      const now = performance.now();
      if (now - lastAria > 500) {
        lastAria = now;
        meterBar.setAttribute('aria-valuenow', String(micOn ? Math.round(level * 10) * 10 : 0));
      }
    });
  };

  const setCamera = (track: MediaStreamTrack | null) => {
    camera?.stop();
    camera = track;
    showCamera();
    renderButtons();
  };
  const setMicrophone = (track: MediaStreamTrack | null) => {
    microphone?.stop();
    microphone = track;
    startMeter();
    renderButtons();
  };

  const reopen = async (kind: 'camera' | 'microphone', deviceId?: string) => {
    try {
      const track = await openOne(kind === 'camera' ? 'video' : 'audio', deviceId);
      if (leaving) return track.stop();
      delete problems[kind];
      if (kind === 'camera') setCamera(track);
      else setMicrophone(track);
      if (deviceId) store.set(`${kind}Id`, deviceId);
    } catch (err) {
      problems[kind] = classify(err);
    }
    renderNotices();
    renderButtons();
    await refreshDevices();
  };

  micBtn.addEventListener('click', () => {
    meter?.resume();
    if (!microphone) return void reopen('microphone', micSelect.value || undefined);
    micOn = !micOn;
    store.set('micOff', micOn ? '0' : '1');
    renderButtons();
  });
  camBtn.addEventListener('click', () => {
    cameraOn = !cameraOn;
    store.set('cameraOff', cameraOn ? '0' : '1');
    if (!cameraOn)
      setCamera(null); // the camera light goes off
    else void reopen('camera', cameraSelect.value || undefined);
    renderButtons();
  });
  cameraSelect.addEventListener('change', () => {
    store.set('cameraId', cameraSelect.value);
    if (cameraOn) void reopen('camera', cameraSelect.value);
  });
  micSelect.addEventListener('change', () => void reopen('microphone', micSelect.value));
  speakerSelect.addEventListener('change', () => store.set('speakerId', speakerSelect.value));
  const onDeviceChange = () => void refreshDevices();
  navigator.mediaDevices?.addEventListener('devicechange', onDeviceChange);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (joining) return;
    const displayName = withToken ? (opts.invitedAs ?? '') : name.value.trim();
    if (!displayName && !withToken) {
      content(nameError, (s) => s.nameRequired);
      name.setAttribute('aria-invalid', 'true');
      return name.focus();
    }
    nameError.textContent = '';
    name.removeAttribute('aria-invalid');
    if (!withToken) store.set('name', displayName);
    joining = true;
    joinBtn.disabled = true;
    content(joinLabel, (s) => s.joining);
    error.textContent = '';
    await opening;
    try {
      leaving = true;
      meter?.stop();
      meter = undefined;
      navigator.mediaDevices?.removeEventListener('devicechange', onDeviceChange);
      preview.srcObject = null;
      await onJoin(
        {
          name: displayName,
          camera: cameraOn ? camera : null,
          microphone,
          micOn: micOn && Boolean(microphone),
          cameraId: camera?.getSettings().deviceId ?? (cameraSelect.value || undefined),
          microphoneId: microphone?.getSettings().deviceId ?? (micSelect.value || undefined),
          speakerId: speakerRow.hidden ? undefined : speakerSelect.value || undefined,
        },
        () => {
          content(joinLabel, (s) => s.waitingInLobby);
          content(error, (s) => s.waitingInLobby);
          error.setAttribute('role', 'status');
        },
      );
    } catch (err) {
      leaving = false;
      joining = false;
      joinBtn.disabled = false;
      content(joinLabel, (s) => (message ? s.rejoin : s.join));
      const text = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: string }).code ?? '';
      error.setAttribute('role', 'alert');
      content(error, (s) => s.joinErrors[code] ?? `${s.errorPrefix} ${text}`);
      navigator.mediaDevices?.addEventListener('devicechange', onDeviceChange);
      showCamera();
      startMeter();
    }
  });

  renderButtons();
  if (!name.value && !withToken) name.focus();
  else joinBtn.focus();

  // Open the devices (one permission prompt for both); the camera only if it is to be on. Joining waits
  // for this, so that a quick click on "Join" does not join without camera and microphone.
  const opening = (async () => {
    const res = await openDevices({
      camera: cameraOn,
      microphone: true,
      cameraId: store.get('cameraId'),
      microphoneId: store.get('microphoneId'),
    });
    if (leaving) {
      res.camera?.stop();
      res.microphone?.stop();
      return;
    }
    problems = {
      ...(res.cameraProblem ? { camera: res.cameraProblem } : {}),
      ...(res.microphoneProblem ? { microphone: res.microphoneProblem } : {}),
    };
    if (res.camera) setCamera(res.camera);
    if (res.microphone) setMicrophone(res.microphone);
    await refreshDevices();
    if (!cameraOn && lists.cameras.length === 0 && !problems.camera) problems.camera = 'notFound';
    ready = true;
    screen.dataset.ready = 'true';
    renderNotices();
    renderButtons();
  })();
}
