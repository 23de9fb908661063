/** A node link's socket as the edge sees it (edge/core/node-links.ts), recording what the edge sent and how it closed it. */
import type { LinkSocket } from '../../edge/core/node-links.ts';

export function fakeLinkSocket() {
  const sent: unknown[] = [];
  let closedWith: number | undefined;
  const socket: LinkSocket = {
    send: (text) => void sent.push(JSON.parse(text)),
    close: (code) => void (closedWith = code),
  };
  return { socket, sent, closed: () => closedWith };
}
