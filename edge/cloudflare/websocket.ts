/**
 * Hibernatable WebSockets as the room's Connection. Everything per socket lives in its attachment
 * (room name, participant id), which the runtime keeps across hibernation; nothing is kept in memory.
 */
import type { Connection } from '../core/connection.ts';
import { TokenBucket } from '../core/rate-limit.ts';

interface Attachment {
  room: string;
  participantId?: string;
}

export interface SocketConnection extends Connection {
  readonly room: string;
}

/** Message budgets per socket, in memory: a hibernated object wakes up with fresh ones. */
const budgets = new WeakMap<WebSocket, TokenBucket>();

export function socketConnection(ws: WebSocket, messagesPerSecond: number): SocketConnection {
  const attachment = () => (ws.deserializeAttachment() ?? { room: '' }) as Attachment;
  let messages = budgets.get(ws);
  if (!messages) budgets.set(ws, (messages = new TokenBucket(messagesPerSecond, 2 * messagesPerSecond)));
  return {
    messages,
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    get participantId() {
      return attachment().participantId;
    },
    set participantId(id: string | undefined) {
      const { room } = attachment();
      ws.serializeAttachment(id === undefined ? { room } : { room, participantId: id });
    },
    get room() {
      return attachment().room;
    },
  };
}

/** Accepts the upgrade inside the Durable Object with the hibernation API. */
export function acceptRoomSocket(ctx: DurableObjectState, room: string): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  ctx.acceptWebSocket(server);
  server.serializeAttachment({ room } satisfies Attachment);
  return new Response(null, { status: 101, webSocket: client });
}
