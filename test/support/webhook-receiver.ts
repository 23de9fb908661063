/**
 * A local webhook receiver for tests (loopback): records every delivery with its body and signature
 * header, and answers as the test says — 204, an error status a given number of times, or not at all
 * (a hanging receiver).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  body: string;
  signature: string;
  at: number;
}

export type ReceiverMode = { kind: 'ok' } | { kind: 'fail'; times: number; status: number } | { kind: 'hang' };

export async function startWebhookReceiver() {
  const deliveries: Delivery[] = [];
  let attempts = 0;
  let mode: ReceiverMode = { kind: 'ok' };
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      if (mode.kind === 'hang') return void hanging.push(res);
      if (mode.kind === 'fail' && mode.times > 0) {
        mode.times--;
        res.writeHead(mode.status).end();
        return;
      }
      deliveries.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['treffpunkt-signature'] ?? ''),
        at: Date.now(),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    attempts: () => attempts,
    setMode(m: ReceiverMode) {
      mode = m;
      if (m.kind !== 'hang') for (const res of hanging.splice(0)) res.destroy();
    },
    events: () => deliveries.map((d) => JSON.parse(d.body) as { id: string; type: string; room: string }),
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A free loopback TCP port (for a listener the test asks a service to open). */
export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
