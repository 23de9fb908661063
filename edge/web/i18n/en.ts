/**
 * The app's English texts: every user-facing string, and the shape (`Strings`) the other languages
 * follow. i18n.ts picks the language.
 */
import type { ErrorCode } from '../../../shared/errors.ts';
import type { ClientErrorCode } from '../signaling.ts';

/** The languages of the app. */
export type Lang = 'de' | 'en';

/** A connection's quality, as the people list shows it. */
export type Quality = 'good' | 'fair' | 'poor' | 'lost';

/** Texts for the codes a join can fail with. */
export type JoinErrorTexts = Partial<Record<ErrorCode | ClientErrorCode, string>>;

export const en = {
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
    TIMEOUT: 'The server did not answer in time. Please try again.',
    REPLY_LOST: 'The connection to the meeting was interrupted. Please try again.',
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

export type Strings = typeof en;
