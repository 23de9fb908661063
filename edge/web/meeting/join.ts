/**
 * The join handshake: open the room's socket, send `join` (with a token, or a typed name) and, when the
 * room holds us in its lobby, wait until a moderator admits us (the `admitted` event carries the join
 * result) or refuses us.
 */
import { ErrorCode } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol-version.ts';
import { CloseCode, type Result } from '../../../shared/signaling.ts';
import { ClientErrorCode, Signaling, SignalingError } from '../signaling.ts';
import type { JoinOptions } from './types.ts';

/** The room's WebSocket address on this edge. */
export function roomSocketUrl(room: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rooms/${encodeURIComponent(room)}/ws`;
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
  const s = await Signaling.open(url);
  try {
    try {
      const joined = await s.request('join', {
        protocolVersion: PROTOCOL_VERSION,
        ...(opts.token ? { token: opts.token } : { name: opts.name }),
        ...(opts.region ? { region: opts.region } : {}),
      });
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
