/**
 * Which URLs may carry node credentials and TURN secrets. Signing protects a request against forgery and
 * replay, not against being read: registrations carry the node's TURN secret, and every control call
 * reveals rooms and participants. So plain http is for loopback only (one machine, tests), unless the
 * operator says otherwise (TREFFPUNKT_ALLOW_INSECURE_HTTP, e.g. behind a VPN or a TLS-terminating sidecar).
 */

/** localhost, 127.0.0.0/8 and ::1: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** True for an http: URL to anything but loopback (https:, and http: to loopback, are fine). */
export function isInsecureUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
}

/** The settings value that allows plain http beyond loopback: 1 or true (0, false or unset: not allowed). */
export const INSECURE_HTTP_SETTING = 'TREFFPUNKT_ALLOW_INSECURE_HTTP';

/**
 * Whether a URL is only an origin (scheme, host, port): no credentials, path, query or fragment. The edge
 * appends its own paths to a node's control URL; a path, query or fragment in it would let the node aim
 * the edge's requests at any endpoint (blind SSRF). Pinning the origin in the node's credentials on the
 * edge (TREFFPUNKT_NODE_SECRETS, JSON form) also takes the choice of host away from the node.
 */
export function isBareOrigin(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return !/[?#]/.test(url) && (u.pathname === '/' || u.pathname === '') && u.username === '' && u.password === '';
}
