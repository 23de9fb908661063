/**
 * The pre-join screen: name, camera/microphone/speaker choice with a live preview and a microphone
 * level meter, camera and microphone switchable before joining, and a clear message when a device is
 * missing or access was denied. Resolves the person's choice when they press "Join".
 *
 * After a meeting (left, ended, removed, connection lost: `message` is set) the devices stay closed
 * until the person joins again or switches one on: leaving must not turn the camera light back on.
 * While a lobby holds us, the preview stays live and "Join" becomes "Stop waiting".
 *
 * Tab order follows what a person does: name, the preview's microphone and camera buttons, the device
 * choices, Join (the DOM is in that order; style.css places the preview beside the form on wide screens).
 */
import { DeviceFields } from './device-fields.ts';
import { LevelMeter, openDevices, openOne, classify, problemText, type DeviceProblem } from './devices.ts';
import { attr, content, el, tx } from './dom.ts';
import type { Strings } from './i18n.ts';
import { icon } from './icons.ts';
import { languageSelect } from './language.ts';
import { stored } from './stored-choices.ts';
import { mark } from './timeline.ts';

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

/**
 * Shows the pre-join screen in `root`; `onJoin` is called with the choice and may throw (the error is
 * shown and the person can try again); it calls `waiting(cancel)` while a lobby holds us. `invitedAs`:
 * the page joins with a join token, whose name is used (null: a token whose name this page cannot
 * read); no name is asked for.
 */
export function preJoin(
  root: HTMLElement,
  room: string,
  message: string | ((s: Strings) => string) | undefined,
  onJoin: (c: JoinChoice, waiting: (cancel: () => void) => void) => Promise<void>,
  opts: { invitedAs?: string | null } = {},
): void {
  const withToken = opts.invitedAs !== undefined;
  let camera: MediaStreamTrack | null = null;
  let microphone: MediaStreamTrack | null = null;
  let cameraOn = stored.get('cameraOff') !== '1';
  let micOn = stored.get('micOff') !== '1';
  let problems: { camera?: DeviceProblem; microphone?: DeviceProblem } = {};
  let meter: LevelMeter | undefined;
  let leaving = false;
  /** The devices have been opened (or found missing, or are left closed after a meeting). */
  let ready = false;
  /** After a meeting: closed until the person joins or switches one on. */
  let devicesClosed = message !== undefined;
  /** While the lobby holds us: leaves it. */
  let cancelWaiting: (() => void) | undefined;

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
  const devices = new DeviceFields(meterBar);

  const name = el('input', {
    id: 'name',
    name: 'name',
    required: true,
    maxlength: '64',
    autocomplete: 'name',
    value: stored.get('name') ?? '',
    'aria-describedby': 'name-error',
  });
  const nameError = el('div', { id: 'name-error', class: 'field-error' });
  const notices = el('div', { class: 'notices', role: 'status' });
  const error = el('div', { class: 'error', role: 'alert' });
  const waitingText = el('p', { class: 'waiting-text', id: 'lobby-waiting', role: 'status', hidden: true });
  const joinBtn = el('button', { class: 'btn primary', type: 'submit', id: 'join' });
  const joinLabel = el('span', {});
  joinBtn.append(joinLabel);
  let joining = false;
  const renderJoin = () =>
    content(joinLabel, (s) => (cancelWaiting ? s.leaveLobby : joining ? s.joining : message ? s.rejoin : s.join));
  renderJoin();

  const head = el(
    'div',
    { class: 'prejoin-head' },
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
  );
  const previewBox = el(
    'div',
    { class: 'preview-box' },
    preview,
    previewOff,
    el('div', { class: 'preview-buttons' }, micBtn, camBtn),
  );
  const rest = el(
    'div',
    { class: 'prejoin-rest' },
    devices.cameraRow,
    devices.microphoneRow,
    devices.speakerRow,
    notices,
    waitingText,
    el('div', { class: 'join-bar' }, joinBtn),
    error,
  );
  const form = el('form', { class: 'prejoin-card prejoin-form', novalidate: true }, head, previewBox, rest);
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
    form,
  );
  root.replaceChildren(screen);
  document.title = `${room} – Treffpunkt`;

  const renderButtons = () => {
    const micLive = micOn && Boolean(microphone);
    const camLive = cameraOn && Boolean(camera);
    micBtn.replaceChildren(icon(micLive ? 'mic' : 'micOff'));
    camBtn.replaceChildren(icon(camLive ? 'camera' : 'cameraOff'));
    // The label says what a press does to what is live now (after a meeting nothing is).
    attr(micBtn, 'aria-label', (s) => (micLive ? s.muteMic : s.unmuteMic));
    attr(camBtn, 'aria-label', (s) => (camLive ? s.cameraOff : s.cameraOn));
    micBtn.classList.toggle('off', !micLive);
    camBtn.classList.toggle('off', !camLive);
    micBtn.disabled = !ready || (!microphone && problems.microphone === 'notFound');
    camBtn.disabled = !ready || (!camera && problems.camera === 'notFound');
    previewBox.classList.toggle('has-video', camLive);
    content(previewOffText, (s) => (problems.camera && !camera ? s.cameraUnavailable : s.cameraIsOff));
    meterBar.classList.toggle('muted', !micLive);
  };
  const renderNotices = () => {
    notices.replaceChildren();
    const texts: ((s: Strings) => string)[] = [];
    if (problems.camera === 'notFound' && problems.microphone === 'notFound') texts.push((s) => s.noDevices);
    else
      for (const kind of ['camera', 'microphone'] as const) {
        const p = problems[kind];
        if (p) texts.push(problemText(kind, p));
      }
    if (devicesClosed) texts.push((s) => s.devicesOffAfterLeave);
    for (const text of texts) notices.append(el('p', { class: 'notice' }, tx(text)));
  };

  const refreshDevices = () => devices.refresh(camera?.getSettings().deviceId, microphone?.getSettings().deviceId);

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
      if (deviceId) stored.set(`${kind}Id`, deviceId);
    } catch (err) {
      problems[kind] = classify(err);
    }
    renderNotices();
    renderButtons();
    await refreshDevices();
  };

  /** Opens the devices (one permission prompt for both); the camera only if it is to be on. */
  const openAll = async () => {
    const res = await openDevices({
      camera: cameraOn,
      microphone: true,
      cameraId: stored.get('cameraId'),
      microphoneId: stored.get('microphoneId'),
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
    if (!cameraOn && devices.lists.cameras.length === 0 && !problems.camera) problems.camera = 'notFound';
  };
  /** Devices switched on by the person after a meeting: from now on, as on a fresh screen. */
  const wake = () => {
    if (!devicesClosed) return false;
    devicesClosed = false;
    renderNotices();
    return true;
  };

  micBtn.addEventListener('click', () => {
    meter?.resume();
    if (!microphone) {
      wake();
      micOn = true;
      stored.set('micOff', '0');
      return void reopen('microphone', devices.microphone.value || undefined);
    }
    micOn = !micOn;
    stored.set('micOff', micOn ? '0' : '1');
    renderButtons();
  });
  camBtn.addEventListener('click', () => {
    wake();
    cameraOn = !(cameraOn && camera);
    stored.set('cameraOff', cameraOn ? '0' : '1');
    if (!cameraOn)
      setCamera(null); // the camera light goes off
    else void reopen('camera', devices.camera.value || undefined);
    renderButtons();
  });
  devices.camera.addEventListener('change', () => {
    stored.set('cameraId', devices.camera.value);
    if (cameraOn && !devicesClosed) void reopen('camera', devices.camera.value);
  });
  devices.microphone.addEventListener('change', () => {
    stored.set('microphoneId', devices.microphone.value);
    if (!devicesClosed) void reopen('microphone', devices.microphone.value);
  });
  const onDeviceChange = () => void refreshDevices();
  navigator.mediaDevices?.addEventListener('devicechange', onDeviceChange);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (cancelWaiting) return cancelWaiting();
    if (joining) return;
    mark('join-click');
    const displayName = withToken ? (opts.invitedAs ?? '') : name.value.trim();
    if (!displayName && !withToken) {
      content(nameError, (s) => s.nameRequired);
      name.setAttribute('aria-invalid', 'true');
      return name.focus();
    }
    nameError.textContent = '';
    name.removeAttribute('aria-invalid');
    if (!withToken) stored.set('name', displayName);
    joining = true;
    joinBtn.disabled = true;
    renderJoin();
    error.textContent = '';
    if (devicesClosed) {
      devicesClosed = false;
      renderNotices();
      opening = openAll();
    }
    await opening;
    let cancelled = false;
    try {
      leaving = true;
      await onJoin(
        {
          name: displayName,
          camera: cameraOn ? camera : null,
          microphone,
          micOn: micOn && Boolean(microphone),
          cameraId: camera?.getSettings().deviceId ?? (devices.camera.value || undefined),
          microphoneId: microphone?.getSettings().deviceId ?? (devices.microphone.value || undefined),
          speakerId: devices.speakerId,
        },
        (cancel) => {
          // The preview and the meter stay live while we wait: the buttons say what is on.
          cancelWaiting = () => {
            cancelled = true;
            cancel();
          };
          joinBtn.disabled = false;
          renderJoin();
          content(waitingText, (s) => s.waitingInLobby);
          waitingText.hidden = false;
        },
      );
      // Joined: the meeting has the tracks now; this screen lets go of its preview and meter.
      meter?.stop();
      meter = undefined;
      preview.srcObject = null;
      navigator.mediaDevices?.removeEventListener('devicechange', onDeviceChange);
    } catch (err) {
      leaving = false;
      joining = false;
      cancelWaiting = undefined;
      waitingText.hidden = true;
      joinBtn.disabled = false;
      renderJoin();
      if (cancelled) {
        content(error, (s) => s.leftLobby);
        error.setAttribute('role', 'status');
        return;
      }
      const text = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: string }).code ?? '';
      error.setAttribute('role', 'alert');
      content(error, (s) => s.joinErrors[code] ?? `${s.errorPrefix} ${text}`);
    }
  });

  renderButtons();
  if (!name.value && !withToken) name.focus();
  else joinBtn.focus();

  // Joining waits for this, so that a quick click on "Join" does not join without camera and microphone.
  let opening: Promise<void> = devicesClosed ? refreshDevices() : openAll();
  void opening.then(() => {
    mark('devices-ready');
    ready = true;
    screen.dataset.ready = 'true';
    renderNotices();
    renderButtons();
  });
}
