/**
 * Hibernatable WebSockets as the room's Connection. Everything per socket lives in its attachment
 * (room name, participant id), which the runtime keeps across hibernation; what is in memory is only a
 * cache of it, lost with the isolate and rebuilt from the attachment on the next read.
 */
import type { Connection } from '../core/connection.ts';
import type { TokenBucket } from '../core/rate-limit.ts';

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

/**
 * Decoded attachments per socket: deserializeAttachment() structured-clones on every call, and the room
 * reads participantId for every socket on every broadcast. Written through by attach(), the only writer.
 */
const attachments = new WeakMap<WebSocket, Attachment>();

function attachment(ws: WebSocket): Attachment {
  const cached = attachments.get(ws);
  if (cached) return cached;
  const a = (ws.deserializeAttachment() ?? { room: '' }) as Attachment;
  attachments.set(ws, a);
  return a;
}

function attach(ws: WebSocket, a: Attachment): void {
  ws.serializeAttachment(a);
  attachments.set(ws, a);
}

export function socketConnection(ws: WebSocket, newBudget: () => TokenBucket): SocketConnection {
  const { openedAt = Date.now(), addressKey } = attachment(ws);
  const messages = budgets.get(ws) ?? newBudget();
  budgets.set(ws, messages);
  return {
    messages,
    openedAt,
    addressKey,
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    get participantId() {
      return attachment(ws).participantId;
    },
    set participantId(id: string | undefined) {
      const { participantId: _, ...rest } = attachment(ws);
      attach(ws, id === undefined ? rest : { ...rest, participantId: id });
    },
    get room() {
      return attachment(ws).room;
    },
  };
}

/** Open sockets of this object from an address key (TREFFPUNKT_SOCKETS_PER_ADDRESS, per room object). */
export function socketsFrom(ctx: DurableObjectState, addressKey: string): number {
  let n = 0;
  for (const ws of ctx.getWebSockets()) if (attachment(ws).addressKey === addressKey) n++;
  return n;
}

/** Accepts the upgrade inside the Durable Object with the hibernation API; the socket's server end. */
export function acceptRoomSocket(
  ctx: DurableObjectState,
  room: string,
  addressKey: string | undefined,
): { response: Response; server: WebSocket } {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  ctx.acceptWebSocket(server);
  attach(server, { room, openedAt: Date.now(), ...(addressKey === undefined ? {} : { addressKey }) });
  return { response: new Response(null, { status: 101, webSocket: client }), server };
}
