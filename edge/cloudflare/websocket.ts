/**
 * Hibernatable WebSockets as the room's Connection. Everything per socket lives in its attachment
 * (room name, participant id), which the runtime keeps across hibernation; nothing is kept in memory.
 */
import type { Connection } from '../core/connection.ts';
import { TokenBucket } from '../core/rate-limit.ts';

interface Attachment {
  room: string;
  participantId?: string;
  /** Absent on sockets accepted before the join timeout existed: treated as opened at wake-up. */
  openedAt?: number;
  addressKey?: string;
}

export interface SocketConnection extends Connection {
  readonly room: string;
}

/** Message budgets per socket, in memory: a hibernated object wakes up with fresh ones. */
const budgets = new WeakMap<WebSocket, TokenBucket>();

export function socketConnection(ws: WebSocket, messagesPerSecond: number): SocketConnection {
  const attachment = () => (ws.deserializeAttachment() ?? { room: '' }) as Attachment;
  const { openedAt = Date.now(), addressKey } = attachment();
  let messages = budgets.get(ws);
  if (!messages) budgets.set(ws, (messages = new TokenBucket(messagesPerSecond, 2 * messagesPerSecond)));
  return {
    messages,
    openedAt,
    addressKey,
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    get participantId() {
      return attachment().participantId;
    },
    set participantId(id: string | undefined) {
      const { participantId: _, ...rest } = attachment();
      ws.serializeAttachment(id === undefined ? rest : { ...rest, participantId: id });
    },
    get room() {
      return attachment().room;
    },
  };
}

/** Open sockets of this object from an address key (TREFFPUNKT_SOCKETS_PER_ADDRESS, per room object). */
export function socketsFrom(ctx: DurableObjectState, addressKey: string): number {
  let n = 0;
  for (const ws of ctx.getWebSockets()) if ((ws.deserializeAttachment() as Attachment | null)?.addressKey === addressKey) n++;
  return n;
}

/** Accepts the upgrade inside the Durable Object with the hibernation API; the socket's server end. */
export function acceptRoomSocket(ctx: DurableObjectState, room: string, addressKey: string | undefined): { response: Response; server: WebSocket } {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  ctx.acceptWebSocket(server);
  server.serializeAttachment({ room, openedAt: Date.now(), ...(addressKey === undefined ? {} : { addressKey }) } satisfies Attachment);
  return { response: new Response(null, { status: 101, webSocket: client }), server };
}
