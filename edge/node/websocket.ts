/**
 * WebSockets on Node: @hono/node-ws upgrades the request, and each socket is fed to its room's actor.
 * Frames above `maxFrameBytes` are refused by `ws` itself (close 1009) before they are buffered whole;
 * frames between the room's message limit and that bound get a MESSAGE_TOO_LARGE error reply.
 */
import { createNodeWebSocket } from '@hono/node-ws';
import type { Context, Hono } from 'hono';
import type { Connection } from '../core/connection.ts';
import type { Room } from '../core/room/room.ts';
import { errorFields, type Logger } from '../core/logger.ts';
import type { InProcessRooms } from './room-host.ts';
import { logSocketLimit, socketLimitResponse } from '../core/app.ts';

export function createNodeRoomSockets(
  app: Hono,
  rooms: InProcessRooms,
  maxFrameBytes: number,
  log: Logger,
  socketsPerAddress: number,
) {
  const nodeWs = createNodeWebSocket({ app });
  // node-ws creates its WebSocketServer without options; ws reads maxPayload at each upgrade.
  (nodeWs.wss.options as { maxPayload?: number }).maxPayload = maxFrameBytes;

  const roomSocket = async (c: Context, roomName: string, addressKey: string | undefined) => {
    // Shutting down (SIGTERM): a socket opened now would be closed again at once. 503 tells the client
    // to retry, which its reconnect backoff does until the restarted edge answers.
    if (rooms.shuttingDown)
      return new Response('the edge is restarting, try again shortly', {
        status: 503,
        headers: { 'retry-after': '1' },
      });
    // Counted per process at open and close. No await lies between this check and onOpen's count for
    // the same upgrade (node-ws completes it within the same turn), so parallel upgrades cannot slip by.
    if (addressKey !== undefined && rooms.socketsFrom(addressKey) >= socketsPerAddress) {
      await logSocketLimit(log, addressKey, roomName);
      return socketLimitResponse(socketsPerAddress);
    }
    let opened: { room: Room; conn: Connection } | undefined;
    const handler = nodeWs.upgradeWebSocket(() => ({
      onOpen: (_evt, ws) => {
        opened = rooms.open(
          roomName,
          { send: (data) => ws.send(data), close: (code, reason) => ws.close(code, reason) },
          addressKey,
        );
      },
      onMessage: (evt) => {
        const data = evt.data;
        const frame = typeof data === 'string' ? data : data instanceof ArrayBuffer ? data : new ArrayBuffer(0);
        if (opened) void opened.room.onMessage(opened.conn, frame);
      },
      onClose: () => {
        if (opened) void rooms.close(roomName, opened.conn);
      },
      onError: (err) => log.debug({ room: roomName, ...errorFields(err) }, 'websocket error'),
    }));
    return handler(c, async () => {}) as Promise<Response>;
  };
  return { roomSocket, injectWebSocket: nodeWs.injectWebSocket };
}
