/**
 * The app's texts in German and English. Every user-facing string lives here; the language follows the
 * browser (navigator.languages), German for any "de*", English otherwise.
 */
const en = {
  title: 'Treffpunkt',
  tagline: 'Video meetings on servers you control.',
  roomLabel: 'Room',
  roomHint: 'Letters, digits, - and _; up to 64 characters.',
  go: 'Open room',
  nameLabel: 'Your name',
  join: 'Join meeting',
  joining: 'Joining…',
  leave: 'Leave',
  micOn: 'Mute microphone',
  micOff: 'Unmute microphone',
  camOn: 'Turn camera off',
  camOff: 'Turn camera on',
  you: 'You',
  alone: 'You are the only one here. Share the link to invite others:',
  leftTitle: 'You left the meeting.',
  rejoin: 'Join again',
  noDevices: 'Camera or microphone are not available. You can still join and see and hear the others.',
  errorPrefix: 'Could not join:',
  connectionLost: 'Connection to the server lost.',
  participants: (n: number) => (n === 1 ? '1 participant' : `${n} participants`),
  joined: (name: string) => `${name} joined`,
  left: (name: string) => `${name} left`,
  preview: 'Camera preview',
};
type Strings = typeof en;

const de: Strings = {
  title: 'Treffpunkt',
  tagline: 'Videokonferenzen auf Servern, die Sie selbst kontrollieren.',
  roomLabel: 'Raum',
  roomHint: 'Buchstaben, Ziffern, - und _; bis zu 64 Zeichen.',
  go: 'Raum öffnen',
  nameLabel: 'Ihr Name',
  join: 'Teilnehmen',
  joining: 'Verbinde…',
  leave: 'Verlassen',
  micOn: 'Mikrofon stummschalten',
  micOff: 'Mikrofon einschalten',
  camOn: 'Kamera ausschalten',
  camOff: 'Kamera einschalten',
  you: 'Sie',
  alone: 'Sie sind allein hier. Teilen Sie den Link, um andere einzuladen:',
  leftTitle: 'Sie haben die Besprechung verlassen.',
  rejoin: 'Erneut teilnehmen',
  noDevices: 'Kamera oder Mikrofon sind nicht verfügbar. Sie können trotzdem teilnehmen und die anderen sehen und hören.',
  errorPrefix: 'Teilnahme nicht möglich:',
  connectionLost: 'Verbindung zum Server verloren.',
  participants: (n: number) => (n === 1 ? '1 Person' : `${n} Personen`),
  joined: (name: string) => `${name} ist beigetreten`,
  left: (name: string) => `${name} hat verlassen`,
  preview: 'Kameravorschau',
};

export function pickLanguage(languages: readonly string[]): 'de' | 'en' {
  for (const l of languages) {
    if (l.toLowerCase().startsWith('de')) return 'de';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export const lang = pickLanguage(typeof navigator === 'undefined' ? [] : navigator.languages);
export const t: Strings = lang === 'de' ? de : en;
