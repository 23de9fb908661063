/**
 * Marks on the page's performance timeline (performance.mark, named `treffpunkt:<step>`) for the steps
 * between opening the page and receiving media: the browser benchmark (test/bench/web.ts) reads them to
 * say where joining spends its time, and anyone can read them in the browser's performance panel. A
 * step that happens again (a relay fallback, a node change) is marked again; readers take the first
 * one after the click on "Join". Costs next to nothing and sends nothing anywhere.
 */
export type TimelineStep =
  | 'app-start'
  | 'devices-ready'
  | 'join-click'
  | 'socket-open'
  | 'join-reply'
  | 'media-started'
  // A mediasoup-client device loaded for a router (not marked when a node change keeps the device).
  | 'device-loaded'
  | 'send-transport-made'
  | 'recv-transport-made'
  | 'send-connect'
  | 'recv-connect'
  | 'send-connected'
  | 'recv-connected'
  // Our source's SDP is done and its `produce` request goes to the edge (mediasoup-client's 'produce').
  | 'produce-asked-microphone'
  | 'produce-asked-camera'
  | 'produce-asked-screen'
  | 'produced-microphone'
  | 'produced-camera'
  | 'produced-screen'
  // A node change (mediaMoved): received, the new device loaded, both transports made, our sources
  // produced, everyone's producers consumed (test/bench/failover.ts reads them).
  | 'move-received'
  | 'move-device-loaded'
  | 'move-transports-made'
  | 'move-produced'
  | 'move-consumed';

export function mark(step: TimelineStep): void {
  // Absent in very old browsers and in Node unit tests without a DOM: the marks are optional.
  globalThis.performance?.mark?.(`treffpunkt:${step}`);
}
