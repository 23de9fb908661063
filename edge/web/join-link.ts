/**
 * What the room address carries besides the room: `?token=<JWT>` (a join token from an invitation or an
 * identity provider; the page joins with it instead of asking for a name) and `?region=<id>` (a hint
 * for choosing a media node near the participant, e.g. `eu-central`). The token is taken out of the
 * address bar at once (history.replaceState), so it does not end up in screenshots, bookmarks or a
 * shared invite link; the page keeps it in memory only, for joining again after a lost connection.
 */
import { RegionHint } from '../../shared/signaling.ts';

export interface JoinLink {
  token?: string;
  /** The name in the token, for showing only (the edge verifies the token; this page cannot). null: unreadable. */
  tokenName?: string | null;
  region?: string;
}

/** The name claim of a JWT, decoded without verification (display only), or null. */
export function nameInToken(token: string): string | null {
  try {
    const part = token.split('.')[1];
    if (!part) return null;
    const b64 = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { name?: unknown };
    return typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : null;
  } catch {
    return null;
  }
}

/** Reads ?token= and ?region= from the page's address and removes the token from it. */
export function readJoinLink(): JoinLink {
  const params = new URLSearchParams(location.search);
  const link: JoinLink = {};
  const token = params.get('token');
  if (token) {
    link.token = token;
    link.tokenName = nameInToken(token);
  }
  if (params.has('token')) {
    params.delete('token');
    const query = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  const region = RegionHint.safeParse(params.get('region'));
  if (region.success) link.region = region.data;
  else if (params.has('region')) console.warn('treffpunkt: ignored ?region= (1-64 lowercase letters, digits or -)');
  return link;
}
