/**
 * A stand-in for a load balancer in front of the edges of a cluster (issue 12: "one URL behind a load
 * balancer"): a TCP proxy on a loopback port that sends each new connection to its preferred edge and,
 * while that one refuses connections (killed), to the next one that accepts. A page opened through the
 * proxy of edge 1 is on edge 1, and its app's reconnect after edge 1 died lands on another edge.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface FailoverProxy {
  url: string;
  close(): Promise<void>;
}

export async function startFailoverProxy(ports: number[]): Promise<FailoverProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pause();
    const attempt = (i: number) => {
      if (i >= ports.length) return client.destroy();
      const upstream = connect(ports[i]!, '127.0.0.1');
      upstream.once('error', () => attempt(i + 1));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        open.add(upstream);
        upstream.on('close', () => open.delete(upstream));
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
