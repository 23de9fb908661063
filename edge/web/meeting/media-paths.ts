/**
 * Which network paths a transport tries, for the relay fallback and the diagnostics (issue 16).
 *
 * A transport's first attempt (iceTransportPolicy 'all') tries the media node directly (UDP, ICE-TCP)
 * and its TURN over UDP and TCP, but not TURN over TLS: every TURN URL a browser is given costs an
 * allocation per network interface (docs/turn.md, quotas) and a TLS session on the TURN server for every
 * participant, though only those behind the strictest firewalls need it. When no candidate pair connects
 * (transport-factory.ts), the retry is relay-only with every TURN URL, TURN/TLS (`turns:`, usually on
 * port 443) included: what a network that lets nothing out but TCP 443 still allows.
 */
import { IcePath, type IceServer } from '../../../shared/signaling.ts';

/** A way to the media node: direct UDP or ICE-TCP, or its TURN server over UDP, TCP or TLS (shared/signaling.ts). */
export type { IcePath };
/** Every path, in the order ICE would prefer them: how lists of paths are ordered (data-media-tried). */
export const MEDIA_PATHS: readonly IcePath[] = IcePath.options;

/** The path one TURN URL stands for (`turns:` is TLS; `turn:` without a transport is UDP). */
export function turnPath(url: string): IcePath {
  if (/^turns:/i.test(url)) return 'turn-tls';
  return /[?&]transport=tcp\b/i.test(url) ? 'turn-tcp' : 'turn-udp';
}

/** The TURN servers a transport of this policy gets: without `turns:` URLs on a first ('all') attempt. */
export function iceServersFor(servers: readonly IceServer[], policy: RTCIceTransportPolicy): IceServer[] {
  if (policy === 'relay') return [...servers];
  return servers
    .map((s) => ({ ...s, urls: s.urls.filter((u) => turnPath(u) !== 'turn-tls') }))
    .filter((s) => s.urls.length > 0);
}

/** What a transport made with these candidates, servers and policy tries, in a stable order. */
export function pathsTried(
  candidates: readonly { protocol: string }[],
  servers: readonly IceServer[],
  policy: RTCIceTransportPolicy,
): IcePath[] {
  const paths = new Set<IcePath>();
  if (policy === 'all') for (const c of candidates) paths.add(c.protocol === 'tcp' ? 'tcp' : 'udp');
  for (const s of servers) for (const u of s.urls) paths.add(turnPath(u));
  return MEDIA_PATHS.filter((p) => paths.has(p));
}
