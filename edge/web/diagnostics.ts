/**
 * Diagnostics switches read from the page's URL (documented in docs/web-app.md). They exist to check a
 * network path or measure something; nobody needs them for a normal meeting.
 *
 *   ?relay=1         media only through the media node's TURN relay (iceTransportPolicy 'relay')
 *   ?transport=tcp   only the media node's ICE-TCP candidates (as if UDP were blocked)
 *   ?video=360       camera capture height: 360, 540 or 720 (default); lower saves CPU and bandwidth
 *   ?layers=max      no simulcast layer selection: receive every camera at the highest layer
 *   ?audio=plain     Opus without in-band FEC and DTX (to measure what they protect: npm run bench:loss)
 *   ?connect=late    transports connect on the node at their first use, not ahead (meeting/dtls-identity.ts)
 *   ?transports=asked  transports are asked for after the join (createTransport), not made with it (meeting/join.ts)
 *   ?prepare=late    the edge list and DTLS certificate are asked for at the click, not on the pre-join screen
 */
const params = typeof location === 'undefined' ? new URLSearchParams() : new URLSearchParams(location.search);
const height = Number(params.get('video'));

export const diagnostics = {
  relayOnly: params.get('relay') === '1',
  tcpOnly: params.get('transport') === 'tcp',
  videoHeight: height === 360 || height === 540 || height === 720 ? height : 720,
  layerSelection: params.get('layers') !== 'max',
  audioProtection: params.get('audio') !== 'plain',
  connectAhead: params.get('connect') !== 'late',
  transportsWithJoin: params.get('transports') !== 'asked',
  prepareAhead: params.get('prepare') !== 'late',
} as const;
