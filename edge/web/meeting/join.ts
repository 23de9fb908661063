/**
 * The join handshake: open the room's socket, send `join` (with a token, or a typed name) and, when the
 * room holds us in its lobby, wait until a moderator admits us (the `admitted` event carries the join
 * result) or refuses us.
 */
import { ErrorCode } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol-version.ts';
import { EDGE_LIST_PATH, EdgeList } from '../../../shared/edge-list.ts';
import { CloseCode, type Result } from '../../../shared/signaling.ts';
import { diagnostics } from '../diagnostics.ts';
import { ClientErrorCode, REQUEST_TIMEOUT_MS, Signaling, SignalingError } from '../signaling.ts';
import { mark } from '../timeline.ts';
import { dtlsCertificate, dtlsParametersOf } from './dtls-identity.ts';
import type { JoinOptions } from './types.ts';

/** The room's WebSocket address on the edge at `origin` (default: the one that served this page). */
export function roomSocketUrl(room: string, origin = location.origin): string {
  return `${origin.replace(/^http/, 'ws')}/rooms/${encodeURIComponent(room)}/ws`;
}

/** The edge list asked once per page (prepareJoin asks it ahead); a failed ask is asked again next time. */
let edgeList: Promise<string[] | undefined> | undefined;

function otherEdges(): Promise<string[] | undefined> {
  if (!edgeList) {
    const asked = askEdgeList();
    edgeList = asked;
    void asked.then((list) => {
      if (list === undefined && edgeList === asked) edgeList = undefined;
    });
  }
  return edgeList;
}

async function askEdgeList(): Promise<string[] | undefined> {
  try {
    const res = await fetch(EDGE_LIST_PATH, { signal: AbortSignal.timeout(5_000) });
    if (res.ok) return EdgeList.parse(await res.json()).edges.map((u) => new URL(u).origin);
  } catch {
    // No list (an older edge, a hiccup): this edge alone, as before.
  }
  return undefined;
}

/**
 * The room's WebSocket addresses: this edge first, then the deployment's other edges (GET /api/edges,
 * from TREFFPUNKT_EDGE_URLS), which the connection tries in turn when one cannot be reached. Without
 * a list (one edge, or one address behind a load balancer) just this edge.
 */
export async function roomSocketUrls(room: string): Promise<string[]> {
  const others = (await otherEdges()) ?? [];
  return [...new Set([location.origin, ...others])].map((origin) => roomSocketUrl(room, origin));
}

/**
 * What a join needs that does not depend on the person's choices, asked while the pre-join screen shows:
 * the edge list (an HTTP round trip) and the page's DTLS certificate. The click on "Join" then goes
 * straight to opening the socket (issue 14). A throwaway WebRTC offer to warm the browser up for the
 * device's load was tried too and made no difference (docs/benchmarks.md), so there is none.
 */
export function prepareJoin(): void {
  if (!diagnostics.prepareAhead) return;
  void otherEdges();
  void dtlsCertificate();
}

/**
 * Joins on a new socket; `waiting` is called when the lobby holds us, with a `cancel` that leaves the
 * lobby (the socket closes: the moderators see us go; the join fails with CLOSED). The socket is closed
 * if joining fails.
 */
export async function joinRoom(
  url: string,
  opts: JoinOptions,
  waiting: (cancel: () => void) => void,
): Promise<{ s: Signaling; joined: Result<'join'> }> {
  // The page's DTLS certificate is made while the socket opens: with it, the join makes both transports
  // and connects them on the node, saving their createTransport and connectTransport round trips.
  const [s, cert] = await Promise.all([Signaling.open(url), dtlsCertificate()]);
  mark('socket-open');
  try {
    try {
      const joined = await s.request(
        'join',
        {
          protocolVersion: PROTOCOL_VERSION,
          ...(opts.token ? { token: opts.token } : { name: opts.name }),
          ...(opts.region ? { region: opts.region } : {}),
          ...(diagnostics.transportsWithJoin
            ? {
                media: {
                  transports: ['send', 'recv'],
                  ...(cert ? { dtlsParameters: dtlsParametersOf(cert) as never } : {}),
                },
              }
            : {}),
        },
        REQUEST_TIMEOUT_MS,
      );
      mark('join-reply');
      return { s, joined };
    } catch (err) {
      // A lobby: wait (socket open) until a moderator admits us; the event carries the join result.
      if (!(err instanceof SignalingError && err.code === ErrorCode.WaitingInLobby)) throw err;
      const joined = await new Promise<Result<'join'>>((resolve, reject) => {
        s.on('admitted', resolve);
        waiting(() => {
          s.onclose = undefined;
          s.close();
          reject(new SignalingError(ClientErrorCode.Closed, 'left the lobby'));
        });
        s.onclose = (code) =>
          reject(
            new SignalingError(
              code === CloseCode.Refused ? ClientErrorCode.NotAdmitted : ClientErrorCode.Closed,
              'not admitted',
            ),
          );
      });
      return { s, joined };
    }
  } catch (err) {
    s.onclose = undefined;
    s.close();
    throw err;
  }
}
