/**
 * WebSockets on Node: @hono/node-ws upgrades the request, and each socket is fed to its room's actor.
 * Frames above `maxFrameBytes` are refused by `ws` itself (close 1009) before they are buffered whole;
 * frames between the room's message limit and that bound get a MESSAGE_TOO_LARGE error reply.
 */
import { createNodeWebSocket } from '@hono/node-ws';
import type { Context, Hono } from 'hono';
import type { Connection } from '../core/connection.ts';
import type { Logger } from '../core/logger.ts';
import { errorFields } from '../core/logger.ts';
import type { InProcessRoomHost } from './room-host.ts';

export function createNodeRoomSockets(app: Hono, rooms: InProcessRoomHost, maxFrameBytes: number, log: Logger) {
  const nodeWs = createNodeWebSocket({ app });
  // node-ws creates its WebSocketServer without options; ws reads maxPayload at each upgrade.
  (nodeWs.wss.options as { maxPayload?: number }).maxPayload = maxFrameBytes;

  const roomSocket = (c: Context, roomName: string) => {
    let conn: Connection | undefined;
    const handler = nodeWs.upgradeWebSocket(() => ({
      onOpen: (_evt, ws) => {
        conn = { send: (data) => ws.send(data), close: (code, reason) => ws.close(code, reason) };
      },
      onMessage: (evt, _ws) => {
        const data = evt.data;
        const frame = typeof data === 'string' ? data : data instanceof ArrayBuffer ? data : new ArrayBuffer(0);
        if (conn) void rooms.get(roomName).onMessage(conn, frame);
      },
      onClose: () => {
        if (conn) void rooms.get(roomName).onClose(conn);
      },
      onError: (err) => log.debug({ room: roomName, ...errorFields(err) }, 'websocket error'),
    }));
    return handler(c, async () => {}) as Promise<Response>;
  };
  return { roomSocket, injectWebSocket: nodeWs.injectWebSocket };
}
