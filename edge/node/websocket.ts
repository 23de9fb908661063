/**
 * WebSockets on Node: @hono/node-ws upgrades the request, and each socket is fed to its room's actor.
 * Frames above `maxFrameBytes` are refused by `ws` itself (close 1009) before they are buffered whole;
 * frames between the room's message limit and that bound get a MESSAGE_TOO_LARGE error reply.
 */
import { createNodeWebSocket } from '@hono/node-ws';
import type { Context, Hono } from 'hono';
import { errorFields, type Logger } from '../core/logger.ts';
import type { InProcessRooms, SocketEnds } from './room-host.ts';
import { logSocketLimit, socketLimitResponse } from '../core/app.ts';

/** One open socket as its rooms see it: its frames, and its close. */
export interface RoomSocketHandle {
  message(frame: string | ArrayBuffer): void;
  closed(): void;
}

/** Where sockets go: this process's rooms (InProcessRooms), or a cluster's (edge/cluster/cluster-rooms.ts). */
export interface RoomSocketSink {
  /** Open sockets from this address key, in every room of this process. */
  socketsFrom(addressKey: string): number;
  open(name: string, socket: SocketEnds, addressKey: string | undefined): RoomSocketHandle;
  /** The edge is stopping: new room sockets are refused (503). */
  readonly shuttingDown: boolean;
}

/** The lone edge's sink: every room in this process. */
export function inProcessSockets(rooms: InProcessRooms): RoomSocketSink {
  return {
    get shuttingDown() {
      return rooms.shuttingDown;
    },
    socketsFrom: (key) => rooms.socketsFrom(key),
    open: (name, socket, addressKey) => {
      const { room, conn } = rooms.open(name, socket, addressKey);
      return { message: (frame) => void room.onMessage(conn, frame), closed: () => void rooms.close(name, conn) };
    },
  };
}

export function createNodeRoomSockets(
  app: Hono,
  rooms: RoomSocketSink,
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
    let opened: RoomSocketHandle | undefined;
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
        opened?.message(frame);
      },
      onClose: () => {
        opened?.closed();
      },
      onError: (err) => log.debug({ room: roomName, ...errorFields(err) }, 'websocket error'),
    }));
    return handler(c, async () => {}) as Promise<Response>;
  };
  // The node links (node-link-socket.ts) share the server's one upgrade listener.
  return { roomSocket, injectWebSocket: nodeWs.injectWebSocket, upgradeWebSocket: nodeWs.upgradeWebSocket };
}
