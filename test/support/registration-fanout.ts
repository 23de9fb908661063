/**
 * TEMPORARY, until the shared registry lands (the registry part of issue 12, another branch): a small
 * HTTP proxy that a media node takes for its edge. It passes the node's signed registration and
 * heartbeats on to every live edge of a cluster (its events to one), so that every edge knows every node.
 * Used by the cluster tests (edge-cluster.ts) and the cluster runtime of the scenario suite (stack.ts).
 */
import { createServer, type Server } from 'node:http';

export interface RegistrationFanout {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port`; `liveEdges` gives the base URLs of the edges that run now. */
export async function startRegistrationFanout(port: number, liveEdges: () => string[]): Promise<RegistrationFanout> {
  const proxy: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
    ) as Record<string, string>;
    const forward = (edgeUrl: string) =>
      fetch(`${edgeUrl}${req.url}`, {
        method: req.method ?? 'POST',
        headers,
        ...(body.length ? { body } : {}),
      }).then(async (r) => ({ status: r.status, text: await r.text(), type: r.headers.get('content-type') }));
    const eventsOnly = /\/events$/.test(req.url ?? '');
    const replies = [];
    for (const e of liveEdges()) {
      const r = await forward(e).catch(() => undefined);
      if (r) replies.push(r);
      if (eventsOnly && r && r.status < 300) break;
    }
    // A heartbeat that one edge does not know (it restarted) makes the node register again, with all.
    const reply = eventsOnly
      ? (replies.find((r) => r.status < 300) ?? replies[0])
      : (replies.find((r) => r.status >= 300) ?? replies[0]);
    if (!reply) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(reply.status, reply.type ? { 'content-type': reply.type } : {}).end(reply.text);
  });
  await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((r) => proxy.close(() => r()));
      proxy.closeAllConnections();
    },
  };
}
