/**
 * One participant's WebSocket as the room sees it. Each runtime adapter wraps its socket type in this;
 * the room never touches a runtime's socket directly.
 */
export interface Connection {
  send(data: string): void;
  close(code: number, reason: string): void;
}
