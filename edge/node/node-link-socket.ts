/**
 * The node link on Node (shared/node-link.ts, edge/core/node-links.ts): the core route has checked the
 * node's signature; this upgrades the request with @hono/node-ws and feeds the socket to NodeLinks.
 */
import type { NodeWebSocket } from '@hono/node-ws';
import type { Context } from 'hono';
import { errorFields, type Logger } from '../core/logger.ts';
import type { NodeLinkHandle, NodeLinks } from '../core/node-links.ts';
import { hasLinkFeature, LINK_CONTROL_CALLS, LINK_FEATURES_HEADER } from '../../shared/node-link.ts';

export function nodeLinkSocket(upgradeWebSocket: NodeWebSocket['upgradeWebSocket'], links: NodeLinks, log: Logger) {
  return (c: Context, nodeId: string): Promise<Response> => {
    let link: NodeLinkHandle | undefined;
    const controlCalls = hasLinkFeature(c.req.header(LINK_FEATURES_HEADER), LINK_CONTROL_CALLS);
    const handler = upgradeWebSocket(() => ({
      onOpen: (_evt, ws) => {
        link = links.open(
          nodeId,
          { send: (text) => ws.send(text), close: (code, reason) => ws.close(code, reason) },
          { controlCalls },
        );
      },
      // Link messages are text; anything else is not the protocol (NodeLinks closes the link).
      onMessage: (evt) => link?.message(typeof evt.data === 'string' ? evt.data : ''),
      onClose: () => link?.closed(),
      onError: (err) => log.debug({ node: nodeId, ...errorFields(err) }, 'media node link error'),
    }));
    return handler(c, async () => {}) as Promise<Response>;
  };
}
