/**
 * The app's icons: inline SVG drawn for Treffpunkt (24×24, stroked with currentColor), built into the
 * bundle, so no icon font or image is fetched from anywhere. Icons are decorative (aria-hidden): the
 * control that holds one carries the text or label.
 */
const SVG = 'http://www.w3.org/2000/svg';

const PATHS = {
  mic: ['M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0z', 'M5 11a7 7 0 0 0 14 0', 'M12 18v3', 'M8.5 21h7'],
  micOff: ['M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0z', 'M5 11a7 7 0 0 0 14 0', 'M12 18v3', 'M8.5 21h7', 'M3.5 3.5l17 17'],
  camera: [
    'M3 7.5A1.5 1.5 0 0 1 4.5 6h9A1.5 1.5 0 0 1 15 7.5v9a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 3 16.5z',
    'M15 10.5l6-3.5v10l-6-3.5',
  ],
  cameraOff: [
    'M3 7.5A1.5 1.5 0 0 1 4.5 6h9A1.5 1.5 0 0 1 15 7.5v9a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 3 16.5z',
    'M15 10.5l6-3.5v10l-6-3.5',
    'M2.5 3.5l17 17',
  ],
  screen: [
    'M3 5.5A1.5 1.5 0 0 1 4.5 4h15A1.5 1.5 0 0 1 21 5.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 14.5z',
    'M8 20h8',
    'M12 16v4',
    'M12 13V7.5',
    'M9.5 10l2.5-2.5 2.5 2.5',
  ],
  screenOff: [
    'M3 5.5A1.5 1.5 0 0 1 4.5 4h15A1.5 1.5 0 0 1 21 5.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 14.5z',
    'M8 20h8',
    'M12 16v4',
    'M9.5 7.5l5 5',
    'M14.5 7.5l-5 5',
  ],
  hand: [
    'M8 12.5V6.5a1.5 1.5 0 0 1 3 0v5',
    'M11 11V4.5a1.5 1.5 0 0 1 3 0V11',
    'M14 11V6a1.5 1.5 0 0 1 3 0v7.5',
    'M17 10a1.5 1.5 0 0 1 3 0v4a7 7 0 0 1-7 7h-1.2a6 6 0 0 1-4.8-2.4l-3.2-4.3a1.5 1.5 0 0 1 2.3-1.9L8 14',
  ],
  people: [
    'M9 11.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z',
    'M2.5 20a6.5 6.5 0 0 1 13 0',
    'M15.5 4.7a3.5 3.5 0 0 1 0 6.6',
    'M18 14.2a6.5 6.5 0 0 1 3.5 5.8',
  ],
  chat: [
    'M4 5.5A1.5 1.5 0 0 1 5.5 4h13A1.5 1.5 0 0 1 20 5.5v9a1.5 1.5 0 0 1-1.5 1.5H10l-4.5 4v-4h0A1.5 1.5 0 0 1 4 14.5z',
    'M8 8.5h8',
    'M8 12h5',
  ],
  leave: ['M3.2 14.3c5-4.6 12.6-4.6 17.6 0l-2.3 2.5-3.3-1.3-.4-2.7a11 11 0 0 0-5.6 0l-.4 2.7-3.3 1.3z'],
  link: [
    'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1.1 1.1',
    'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.1-1.1',
  ],
  grid: ['M4 4h7v7H4z', 'M13 4h7v7h-7z', 'M4 13h7v7H4z', 'M13 13h7v7h-7z'],
  speaker: ['M3 4h18v11H3z', 'M3 18h5v2H3z', 'M9.5 18h5v2h-5z', 'M16 18h5v2h-5z'],
  /** Sound bars: the active speaker, shown with a shape as well as a colour. */
  speaking: ['M4 10v4', 'M8 7v10', 'M12 4v16', 'M16 7v10', 'M20 10v4'],
  pin: ['M9 3.5h6', 'M10 3.5v5.5l-3 3.5h10l-3-3.5V3.5', 'M12 12.5V21'],
  send: ['M4 12l16-8-5.5 16-3-6.5z', 'M11.5 13.5L20 4'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  check: ['M5 12.5l4.5 4.5L19 7'],
  lock: ['M6 11h12v9H6z', 'M8.5 11V8a3.5 3.5 0 0 1 7 0v3'],
  unlock: ['M6 11h12v9H6z', 'M8.5 11V8a3.5 3.5 0 0 1 6.8-1.2'],
  more: ['M12 6.5v.01', 'M12 12v.01', 'M12 17.5v.01'],
  globe: [
    'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
    'M3 12h18',
    'M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z',
  ],
} as const;

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, cls = ''): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon${cls ? ` ${cls}` : ''}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of PATHS[name]) {
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

/** Connection quality as three bars: `level` 0-3 bars lit. */
export function qualityBars(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'bars');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const [i, h] of [5, 9, 13].entries()) {
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('x', String(1 + i * 5));
    r.setAttribute('y', String(15 - h));
    r.setAttribute('width', '3.5');
    r.setAttribute('height', String(h));
    r.setAttribute('rx', '1');
    svg.append(r);
  }
  return svg;
}
