/**
 * The app's texts in German and English. Every user-facing string lives here. The language follows the
 * browser (navigator.languages: German for the first "de*" before any "en*", English otherwise) unless
 * the person picked one in the app, which is kept in localStorage. `t` is a live binding: after
 * setLanguage() it holds the new language's strings, and onLanguageChange listeners re-render.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import type { ClientErrorCode } from './signaling.ts';

/** Texts for the codes a join can fail with. */
type JoinErrorTexts = Partial<Record<ErrorCode | ClientErrorCode, string>>;

const en = {
  // Language switch
  language: 'Language',
  languageNames: { de: 'Deutsch', en: 'English' } as Record<Lang, string>,

  // Start page
  title: 'Treffpunkt',
  tagline: 'Video meetings on servers you control.',
  roomLabel: 'Room',
  roomHint: 'Letters, digits, - and _; up to 64 characters.',
  go: 'Open room',
  /** The word in proposed room names ("room-x1y2z3"). */
  roomWord: 'room',
  badRoomAddress: (name: string) =>
    `“${name}” is not a room address: room names use only letters, digits, - and _, up to 64 characters. Here is a similar one:`,
  roomInvalid: (similar: string) =>
    `Room names use only letters, digits, - and _, up to 64 characters. Press “Open room” again for “${similar}”.`,

  // Pre-join
  readyToJoin: 'Ready to join?',
  roomHeading: (room: string) => `Room ${room}`,
  nameLabel: 'Your name',
  nameRequired: 'Please enter your name.',
  cameraLabel: 'Camera',
  microphoneLabel: 'Microphone',
  speakerLabel: 'Speaker',
  systemDefault: 'System default',
  deviceFallback: (kind: string, n: number) => `${kind} ${n}`,
  micLevel: 'Microphone level',
  preview: 'Camera preview',
  cameraIsOff: 'Camera is off',
  cameraUnavailable: 'No camera available',
  join: 'Join meeting',
  joining: 'Joining…',
  rejoin: 'Join again',
  leftTitle: 'You left the meeting.',
  connectionLost: 'The connection to the server was lost.',
  meetingEnded: 'A moderator ended the meeting.',
  removed: 'A moderator removed you from the meeting.',
  errorPrefix: 'Could not join:',
  waitingInLobby: 'Waiting for a moderator to let you in…',
  leaveLobby: 'Stop waiting',
  leftLobby: 'You stopped waiting. You can ask to join again.',
  devicesOffAfterLeave: 'Camera and microphone are off. They turn on again when you join.',
  noDevices: 'No camera or microphone found. You can join to watch and listen.',
  deniedInMeeting: (what: string) =>
    `This page may not use the ${what.toLowerCase()}: the browser denied access. Allow it in the site settings (the icon left of the address), then try again.`,
  // A browser that cannot hold a meeting (browser-support.ts)
  unsupportedTitle: 'This browser cannot join video meetings',
  unsupportedText:
    'It lacks WebRTC, which Treffpunkt needs for audio and video, so joining would fail. Nothing was sent to the meeting.',
  unsupportedBrowsers:
    'Please open this link in a current version of Firefox, Chrome, Edge or Safari (on an iPhone or iPad: Safari).',
  unsupportedDetails: 'Technical details',
  /**
   * Join errors by code (the edge's ErrorCode or the page's ClientErrorCode: `satisfies` refuses any other
   * key); others show the server's text after errorPrefix.
   */
  joinErrors: {
    ROOM_FULL: 'This room is full.',
    LOBBY_FULL: 'Too many people are waiting to be let in. Please try again in a moment.',
    NAME_TAKEN: 'Someone with a verified identity in this meeting has that name. Please choose another.',
    ROOM_LOCKED: 'This room is locked.',
    NOT_ADMITTED: 'You were not let in.',
    UNAUTHORIZED: 'This room needs an invitation you do not have (the link may have expired).',
    ALREADY_IN_ROOM:
      'Your invitation is already in use in this meeting, perhaps in another tab or on another device. Leave there first.',
    REMOVED_FROM_ROOM: 'A moderator removed you from this meeting. You cannot join it again for now.',
    NO_MEDIA_NODE: 'No media server is available right now. Please try again in a moment.',
    RATE_LIMITED: 'Too many attempts. Please wait a moment and try again.',
    CONNECT_FAILED: 'The server cannot be reached. Check your connection.',
    UNSUPPORTED_PROTOCOL_VERSION: 'This page is out of date. Please reload it.',
  } satisfies JoinErrorTexts as Record<string, string>,
  cameraDenied:
    'Access to the camera was denied. Allow it in the browser’s site settings (the icon left of the address) and reload the page. You can still join without video.',
  microphoneDenied:
    'Access to the microphone was denied. Allow it in the browser’s site settings (the icon left of the address) and reload the page. You can still join without sound.',
  noCamera: 'No camera found. You can join without video.',
  noMicrophone: 'No microphone found. You can join and listen.',
  cameraInUse: 'The camera is in use by another application or cannot be started.',
  microphoneInUse: 'The microphone is in use by another application or cannot be started.',
  mediaUnsupported: 'This browser cannot use cameras and microphones here (a secure https connection is needed).',
  deviceError: (what: string) => `${what}: the device could not be started.`,

  // Toolbar and controls
  controls: 'Meeting controls',
  muteMic: 'Mute microphone',
  unmuteMic: 'Unmute microphone',
  micShort: 'Mic',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  cameraShort: 'Camera',
  shareScreen: 'Share screen',
  stopSharing: 'Stop sharing',
  shareShort: 'Share',
  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  handShort: 'Hand',
  people: 'Participants',
  chat: 'Chat',
  leave: 'Leave',
  leaveMeeting: 'Leave meeting',
  gridView: 'Grid view',
  speakerView: 'Speaker view',
  switchToGrid: 'Switch to grid view',
  switchToSpeaker: 'Switch to speaker view',
  copyInvite: 'Copy invite link',
  inviteCopied: 'Invite link copied',
  inviteLabel: 'Invite link',
  closePanel: 'Close panel',
  more: 'More',

  // Stage and tiles
  stage: 'Meeting video',
  filmstrip: 'Other participants',
  you: 'You',
  nameYou: (name: string) => `${name} (You)`,
  youSuffix: '(You)',
  /** Next to names from a join token (a trusted issuer vouches for them). */
  verifiedName: 'Verified identity',
  screenOf: (name: string) => `${name}’s screen`,
  youArePresenting: 'You are sharing your screen.',
  sameName: (name: string) =>
    `Someone in this meeting is also called ${name} (perhaps you, in another tab or on another device).`,
  alone: 'You are the only one here. Share the link to invite others:',
  pin: (name: string) => `Show ${name} large`,
  unpin: (name: string) => `Stop showing ${name} large`,
  micOffState: 'Microphone off',
  cameraOffState: 'Camera off',
  handRaisedState: 'Hand raised',
  speakingState: 'Speaking',
  quality: {
    good: 'Connection good',
    fair: 'Connection fair',
    poor: 'Connection poor',
    lost: 'No connection',
  } as Record<Quality, string>,
  participants: (n: number) => (n === 1 ? '1 participant' : `${n} participants`),

  // Chat
  chatEmpty: 'No messages yet. Messages are only visible during the meeting and are not saved.',
  messageLabel: 'Message to everyone',
  send: 'Send',
  chatLog: 'Chat messages',
  chatUnread: (n: number) => (n === 1 ? '1 unread message' : `${n} unread messages`),
  chatFailed: 'The message could not be sent.',

  // Announcements for screen readers and notices
  joined: (name: string) => `${name} joined`,
  left: (name: string) => `${name} left`,
  raisedHand: (name: string) => `${name} raised a hand`,
  loweredHand: (name: string) => `${name} lowered the hand`,
  chatFrom: (name: string, text: string) => `${name}: ${text}`,
  startedSharing: (name: string) => `${name} is sharing the screen`,
  stoppedSharing: (name: string) => `${name} stopped sharing`,
  micMutedNotice: 'Microphone muted',
  micUnmutedNotice: 'Microphone on',
  cameraOffNotice: 'Camera off',
  cameraOnNotice: 'Camera on',
  shareFailed: 'Screen sharing did not start.',
  shareUnsupported: 'This browser cannot share the screen.',
  mutedByModerator: (source: string) =>
    `A moderator turned off your ${source === 'camera' ? 'camera' : source === 'screen' ? 'screen share' : 'microphone'}.`,
  unmuteRequested: (source: string) =>
    `A moderator asks you to turn on your ${source === 'camera' ? 'camera' : 'microphone'}.`,
  relayNotice: 'A direct connection was not possible; media now goes through the relay server.',
  mediaBlocked:
    'Audio and video cannot get through: this network probably blocks media (a firewall or proxy), even through the relay server. Chat still works. Try another network, or ask your IT department to allow it.',
  retry: 'Retry',
  mediaDetails: 'What was tried',
  mediaRetrying: 'Connecting audio and video again…',
  mediaBack: 'Audio and video are connected again.',
  connectingVideo: 'Connecting…',

  // Joining with a token
  joinAs: (name: string) => `You join as ${name}.`,
  joinWithInvitation: 'You join with your invitation.',

  // Moderation
  moderatorLabel: 'Moderator',
  personActions: (name: string) => `Actions for ${name}`,
  muteTheirMic: 'Mute microphone',
  turnOffTheirCamera: 'Turn off camera',
  askToUnmuteMic: 'Ask to unmute',
  askToTurnOnCamera: 'Ask to turn on camera',
  removeFromMeeting: 'Remove from meeting',
  removeTitle: (name: string) => `Remove ${name} from the meeting?`,
  removeText: 'They leave at once. They can join again with the link unless the room is locked.',
  remove: 'Remove',
  cancel: 'Cancel',
  askedToUnmute: (name: string) => `${name} was asked to turn it on.`,
  actionFailed: 'That did not work. Please try again.',
  forbidden: 'Only moderators can do that.',
  roomActions: 'Room',
  lockRoom: 'Lock room',
  unlockRoom: 'Unlock room',
  lockHint: 'When locked, newcomers wait until a moderator lets them in.',
  roomLockedState: 'Room locked',
  roomLockedNotice: 'The room is locked: newcomers wait in the lobby.',
  roomUnlockedNotice: 'The room is unlocked.',
  endForAll: 'End meeting for everyone',
  endTitle: 'End the meeting for everyone?',
  endText: 'Everyone is disconnected, and the chat is gone.',
  endMeeting: 'End meeting',
  youEndedMeeting: 'You ended the meeting for everyone.',
  lobbyHeading: (n: number) => `Waiting to join (${n})`,
  admit: 'Admit',
  refuse: 'Refuse',
  admitName: (name: string) => `Admit ${name}`,
  refuseName: (name: string) => `Refuse ${name}`,
  waitingToJoin: (name: string) => `${name} is waiting to join.`,
  turnOn: 'Turn on',

  // Connection
  reconnecting: 'Connection lost — reconnecting…',
  reconnected: 'Connected again.',
  mediaUnavailable: 'Media server unavailable — trying to reconnect your audio and video. Chat still works.',
  mediaMoved: 'Your audio and video moved to another media server.',
  rejoinedNotice: 'Reconnected — the server had restarted, you are back in the meeting.',
};
export type Quality = 'good' | 'fair' | 'poor' | 'lost';
export type Lang = 'de' | 'en';
export type Strings = typeof en;

const de: Strings = {
  language: 'Sprache',
  languageNames: { de: 'Deutsch', en: 'English' },

  title: 'Treffpunkt',
  tagline: 'Videokonferenzen auf Servern, die Sie selbst kontrollieren.',
  roomLabel: 'Raum',
  roomHint: 'Buchstaben, Ziffern, - und _; bis zu 64 Zeichen.',
  go: 'Raum öffnen',
  roomWord: 'raum',
  badRoomAddress: (name) =>
    `„${name}“ ist keine Raumadresse: Raumnamen bestehen nur aus Buchstaben, Ziffern, - und _, bis zu 64 Zeichen. Hier ist ein ähnlicher:`,
  roomInvalid: (similar) =>
    `Raumnamen bestehen nur aus Buchstaben, Ziffern, - und _, bis zu 64 Zeichen. Drücken Sie noch einmal „Raum öffnen“ für „${similar}“.`,

  readyToJoin: 'Bereit zur Teilnahme?',
  roomHeading: (room) => `Raum ${room}`,
  nameLabel: 'Ihr Name',
  nameRequired: 'Bitte geben Sie Ihren Namen ein.',
  cameraLabel: 'Kamera',
  microphoneLabel: 'Mikrofon',
  speakerLabel: 'Lautsprecher',
  systemDefault: 'Systemstandard',
  deviceFallback: (kind, n) => `${kind} ${n}`,
  micLevel: 'Mikrofonpegel',
  preview: 'Kameravorschau',
  cameraIsOff: 'Kamera ist aus',
  cameraUnavailable: 'Keine Kamera verfügbar',
  join: 'Teilnehmen',
  joining: 'Verbinde…',
  rejoin: 'Erneut teilnehmen',
  leftTitle: 'Sie haben die Besprechung verlassen.',
  connectionLost: 'Die Verbindung zum Server wurde unterbrochen.',
  meetingEnded: 'Eine Moderatorin oder ein Moderator hat die Besprechung beendet.',
  removed: 'Eine Moderatorin oder ein Moderator hat Sie aus der Besprechung entfernt.',
  errorPrefix: 'Teilnahme nicht möglich:',
  waitingInLobby: 'Warten, bis eine Moderatorin oder ein Moderator Sie hereinlässt …',
  leaveLobby: 'Nicht mehr warten',
  leftLobby: 'Sie warten nicht mehr. Sie können erneut um Teilnahme bitten.',
  devicesOffAfterLeave: 'Kamera und Mikrofon sind aus. Sie gehen wieder an, wenn Sie teilnehmen.',
  noDevices: 'Keine Kamera und kein Mikrofon gefunden. Sie können teilnehmen, um zuzusehen und zuzuhören.',
  deniedInMeeting: (what) =>
    `Diese Seite darf ${what === 'Kamera' ? 'die Kamera' : 'das Mikrofon'} nicht verwenden: Der Browser hat den Zugriff verweigert. Erlauben Sie ihn in den Website-Einstellungen (Symbol links der Adresse) und versuchen Sie es dann erneut.`,
  unsupportedTitle: 'Mit diesem Browser ist keine Videokonferenz möglich',
  unsupportedText:
    'Ihm fehlt WebRTC, das Treffpunkt für Audio und Video braucht; die Teilnahme würde scheitern. An die Besprechung wurde nichts gesendet.',
  unsupportedBrowsers:
    'Bitte öffnen Sie diesen Link in einer aktuellen Version von Firefox, Chrome, Edge oder Safari (auf iPhone oder iPad: Safari).',
  unsupportedDetails: 'Technische Einzelheiten',
  joinErrors: {
    ROOM_FULL: 'Dieser Raum ist voll.',
    LOBBY_FULL: 'Zu viele Personen warten auf Einlass. Bitte versuchen Sie es gleich noch einmal.',
    NAME_TAKEN:
      'Jemand mit bestätigter Identität in dieser Besprechung trägt diesen Namen. Bitte wählen Sie einen anderen.',
    ROOM_LOCKED: 'Dieser Raum ist gesperrt.',
    NOT_ADMITTED: 'Sie wurden nicht hereingelassen.',
    UNAUTHORIZED: 'Für diesen Raum brauchen Sie eine Einladung (der Link ist vielleicht abgelaufen).',
    ALREADY_IN_ROOM:
      'Ihre Einladung wird in dieser Besprechung schon verwendet, vielleicht in einem anderen Tab oder auf einem anderen Gerät. Verlassen Sie die Besprechung dort zuerst.',
    REMOVED_FROM_ROOM:
      'Eine Moderatorin oder ein Moderator hat Sie aus dieser Besprechung entfernt. Sie können vorerst nicht wieder teilnehmen.',
    NO_MEDIA_NODE: 'Gerade ist kein Medienserver verfügbar. Bitte versuchen Sie es gleich noch einmal.',
    RATE_LIMITED: 'Zu viele Versuche. Bitte warten Sie einen Moment.',
    CONNECT_FAILED: 'Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung.',
    UNSUPPORTED_PROTOCOL_VERSION: 'Diese Seite ist veraltet. Bitte laden Sie sie neu.',
  } satisfies JoinErrorTexts,
  cameraDenied:
    'Der Zugriff auf die Kamera wurde verweigert. Erlauben Sie ihn in den Website-Einstellungen des Browsers (Symbol links der Adresse) und laden Sie die Seite neu. Sie können auch ohne Video teilnehmen.',
  microphoneDenied:
    'Der Zugriff auf das Mikrofon wurde verweigert. Erlauben Sie ihn in den Website-Einstellungen des Browsers (Symbol links der Adresse) und laden Sie die Seite neu. Sie können auch ohne Ton teilnehmen.',
  noCamera: 'Keine Kamera gefunden. Sie können ohne Video teilnehmen.',
  noMicrophone: 'Kein Mikrofon gefunden. Sie können teilnehmen und zuhören.',
  cameraInUse: 'Die Kamera wird von einer anderen Anwendung benutzt oder lässt sich nicht starten.',
  microphoneInUse: 'Das Mikrofon wird von einer anderen Anwendung benutzt oder lässt sich nicht starten.',
  mediaUnsupported:
    'Dieser Browser kann hier keine Kameras und Mikrofone verwenden (eine sichere https-Verbindung ist nötig).',
  deviceError: (what) => `${what}: Das Gerät ließ sich nicht starten.`,

  controls: 'Steuerung der Besprechung',
  muteMic: 'Mikrofon stummschalten',
  unmuteMic: 'Mikrofon einschalten',
  micShort: 'Mikro',
  cameraOff: 'Kamera ausschalten',
  cameraOn: 'Kamera einschalten',
  cameraShort: 'Kamera',
  shareScreen: 'Bildschirm teilen',
  stopSharing: 'Teilen beenden',
  shareShort: 'Teilen',
  raiseHand: 'Hand heben',
  lowerHand: 'Hand senken',
  handShort: 'Hand',
  people: 'Teilnehmende',
  chat: 'Chat',
  leave: 'Verlassen',
  leaveMeeting: 'Besprechung verlassen',
  gridView: 'Kachelansicht',
  speakerView: 'Sprecheransicht',
  switchToGrid: 'Zur Kachelansicht wechseln',
  switchToSpeaker: 'Zur Sprecheransicht wechseln',
  copyInvite: 'Einladungslink kopieren',
  inviteCopied: 'Einladungslink kopiert',
  inviteLabel: 'Einladungslink',
  closePanel: 'Bereich schließen',
  more: 'Mehr',

  stage: 'Video der Besprechung',
  filmstrip: 'Weitere Teilnehmende',
  you: 'Sie',
  nameYou: (name) => `${name} (Sie)`,
  youSuffix: '(Sie)',
  verifiedName: 'Bestätigte Identität',
  screenOf: (name) => `Bildschirm von ${name}`,
  youArePresenting: 'Sie teilen Ihren Bildschirm.',
  sameName: (name) =>
    `In dieser Besprechung heißt schon jemand ${name} (vielleicht Sie selbst, in einem anderen Tab oder auf einem anderen Gerät).`,
  alone: 'Sie sind allein hier. Teilen Sie den Link, um andere einzuladen:',
  pin: (name) => `${name} groß anzeigen`,
  unpin: (name) => `${name} nicht mehr groß anzeigen`,
  micOffState: 'Mikrofon aus',
  cameraOffState: 'Kamera aus',
  handRaisedState: 'Hand gehoben',
  speakingState: 'Spricht',
  quality: { good: 'Verbindung gut', fair: 'Verbindung mittel', poor: 'Verbindung schlecht', lost: 'Keine Verbindung' },
  participants: (n) => (n === 1 ? '1 Person' : `${n} Personen`),

  chatEmpty:
    'Noch keine Nachrichten. Nachrichten sind nur während der Besprechung sichtbar und werden nicht gespeichert.',
  messageLabel: 'Nachricht an alle',
  send: 'Senden',
  chatLog: 'Chatnachrichten',
  chatUnread: (n) => (n === 1 ? '1 ungelesene Nachricht' : `${n} ungelesene Nachrichten`),
  chatFailed: 'Die Nachricht konnte nicht gesendet werden.',

  joined: (name) => `${name} ist beigetreten`,
  left: (name) => `${name} hat die Besprechung verlassen`,
  raisedHand: (name) => `${name} hat die Hand gehoben`,
  loweredHand: (name) => `${name} hat die Hand gesenkt`,
  chatFrom: (name, text) => `${name}: ${text}`,
  startedSharing: (name) => `${name} teilt den Bildschirm`,
  stoppedSharing: (name) => `${name} teilt den Bildschirm nicht mehr`,
  micMutedNotice: 'Mikrofon stummgeschaltet',
  micUnmutedNotice: 'Mikrofon an',
  cameraOffNotice: 'Kamera aus',
  cameraOnNotice: 'Kamera an',
  shareFailed: 'Die Bildschirmfreigabe wurde nicht gestartet.',
  shareUnsupported: 'Dieser Browser kann den Bildschirm nicht teilen.',
  mutedByModerator: (source) =>
    `Eine Moderatorin oder ein Moderator hat Ihr${source === 'camera' ? 'e Kamera' : source === 'screen' ? 'e Bildschirmfreigabe' : ' Mikrofon'} ausgeschaltet.`,
  unmuteRequested: (source) =>
    `Eine Moderatorin oder ein Moderator bittet Sie, Ihr${source === 'camera' ? 'e Kamera' : ' Mikrofon'} einzuschalten.`,
  relayNotice: 'Eine direkte Verbindung war nicht möglich; Audio und Video laufen jetzt über den Relay-Server.',
  mediaBlocked:
    'Audio und Video kommen nicht durch: Dieses Netzwerk blockiert wahrscheinlich Medienverbindungen (Firewall oder Proxy), auch über den Relay-Server. Der Chat funktioniert weiter. Versuchen Sie ein anderes Netzwerk, oder bitten Sie Ihre IT-Abteilung, es freizugeben.',
  retry: 'Erneut versuchen',
  mediaDetails: 'Was versucht wurde',
  mediaRetrying: 'Audio und Video werden neu verbunden …',
  mediaBack: 'Audio und Video sind wieder verbunden.',
  connectingVideo: 'Verbinde …',

  joinAs: (name) => `Sie nehmen als ${name} teil.`,
  joinWithInvitation: 'Sie nehmen mit Ihrer Einladung teil.',

  moderatorLabel: 'Moderation',
  personActions: (name) => `Aktionen für ${name}`,
  muteTheirMic: 'Mikrofon stummschalten',
  turnOffTheirCamera: 'Kamera ausschalten',
  askToUnmuteMic: 'Bitten, das Mikrofon einzuschalten',
  askToTurnOnCamera: 'Bitten, die Kamera einzuschalten',
  removeFromMeeting: 'Aus der Besprechung entfernen',
  removeTitle: (name) => `${name} aus der Besprechung entfernen?`,
  removeText:
    'Die Person verlässt die Besprechung sofort. Mit dem Link kann sie wieder teilnehmen, außer der Raum ist gesperrt.',
  remove: 'Entfernen',
  cancel: 'Abbrechen',
  askedToUnmute: (name) => `${name} wurde gebeten, es einzuschalten.`,
  actionFailed: 'Das hat nicht geklappt. Bitte versuchen Sie es noch einmal.',
  forbidden: 'Nur Moderatorinnen und Moderatoren dürfen das.',
  roomActions: 'Raum',
  lockRoom: 'Raum sperren',
  unlockRoom: 'Raum entsperren',
  lockHint: 'In einem gesperrten Raum warten Neue, bis eine Moderatorin oder ein Moderator sie hereinlässt.',
  roomLockedState: 'Raum gesperrt',
  roomLockedNotice: 'Der Raum ist gesperrt: Neue warten in der Lobby.',
  roomUnlockedNotice: 'Der Raum ist entsperrt.',
  endForAll: 'Besprechung für alle beenden',
  endTitle: 'Die Besprechung für alle beenden?',
  endText: 'Alle werden getrennt, und der Chat ist weg.',
  endMeeting: 'Besprechung beenden',
  youEndedMeeting: 'Sie haben die Besprechung für alle beendet.',
  lobbyHeading: (n) => `Warten auf Einlass (${n})`,
  admit: 'Hereinlassen',
  refuse: 'Ablehnen',
  admitName: (name) => `${name} hereinlassen`,
  refuseName: (name) => `${name} ablehnen`,
  waitingToJoin: (name) => `${name} wartet auf Einlass.`,
  turnOn: 'Einschalten',

  reconnecting: 'Verbindung unterbrochen — verbinde neu …',
  reconnected: 'Wieder verbunden.',
  mediaUnavailable:
    'Medienserver nicht verfügbar — Audio und Video werden neu verbunden. Der Chat funktioniert weiter.',
  mediaMoved: 'Ihr Audio und Video laufen jetzt über einen anderen Medienserver.',
  rejoinedNotice: 'Wieder verbunden — der Server wurde neu gestartet, Sie sind wieder in der Besprechung.',
};

const STRINGS: Record<Lang, Strings> = { de, en };
const STORAGE_KEY = 'treffpunkt.lang';
export const LANGUAGES: readonly Lang[] = ['de', 'en'];

export function pickLanguage(languages: readonly string[]): Lang {
  for (const l of languages) {
    if (l.toLowerCase().startsWith('de')) return 'de';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

function stored(): Lang | undefined {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'de' || v === 'en' ? v : undefined;
  } catch {
    return undefined;
  }
}

export let lang: Lang = stored() ?? pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages);
export let t: Strings = STRINGS[lang];

const listeners = new Set<() => void>();

/** Switches the language, remembers the choice and tells every listener (which re-render their texts). */
export function setLanguage(next: Lang): void {
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Storage may be disabled; the choice then lasts for this page only.
  }
  if (next === lang) return;
  lang = next;
  t = STRINGS[next];
  if (typeof document !== 'undefined') document.documentElement.lang = next;
  for (const l of listeners) l();
}

export function onLanguageChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "14:05" in the current language. */
export function formatTime(ms: number): string {
  return new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' }).format(ms);
}
