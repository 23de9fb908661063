/**
 * The reference of the join benchmark (join.ts, flow (b)): a minimal mediasoup signaling server in one Node
 * process, as a typical mediasoup app writes it. One `ws` WebSocketServer on 127.0.0.1, one mediasoup worker
 * with a WebRtcServer on 127.0.0.1 (UDP and TCP, as our media node has), a router per room with our routers'
 * codecs (shared/media-codecs.ts), JSON requests answered straight from mediasoup. No join token, no schema
 * validation, no room actor, no persistence, no media events, and above all no separate media node: the
 * signaling process calls mediasoup itself. The issue measures flow (b) against it, on the same machine in
 * the same run: what the hop to a separate media node, and everything else our edge does, may cost at most.
 *
 * It does the same mediasoup work as flow (b), nothing skipped: createWebRtcTransport with the options of
 * media-node/media-room.ts, connect with the client's DTLS parameters, canConsume, consume (paused), resume.
 * The envelope and field names are the edge's ({id, method, params} → {id, ok, result} or {id, ok: false,
 * error}) and the join reply has the fields the client reads (routerRtpCapabilities, participants[].producers),
 * so that join.ts times both with the very same client and flow (support.ts BenchClient, consumeFlow).
 *
 * Methods: join, createTransport, connectTransport, produce (the room's publisher), consume, resumeConsumer,
 * leave (closes the participant's transports, answers, closes the socket; a closed socket does the same).
 * The room is the URL's path: ws://127.0.0.1:<port>/<room>.
 *
 *   node test/bench/sfu-baseline.ts   prints `SFU_BASELINE {"port":…,"workerPid":…}`, runs until stdin closes
 *   startSfuBaseline()                starts it so, as a child process of the benchmark (its own event loop,
 *                                     as the edge has its own process)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { types } from 'mediasoup';
import { WebSocketServer } from 'ws';
import { settleWorkerBinary } from '../../media-node/worker-binary.ts';
import { routerMediaCodecs } from '../../shared/media-codecs.ts';

interface Room {
  router: types.Router;
  peers: Set<Peer>;
}

interface Peer {
  room?: Room;
  transports: Map<string, types.WebRtcTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
}

// A typical app trusts its own clients' JSON: no validation here (our edge parses every message by schema).
type Params = any;

async function serve(): Promise<void> {
  settleWorkerBinary(); // mediasoup reads MEDIASOUP_WORKER_BIN when it is loaded: import it only now
  const mediasoup = await import('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (err) => {
    process.stderr.write(`sfu-baseline: mediasoup worker died: ${err.message}\n`);
    process.exit(1);
  });
  const webRtcServer = await worker.createWebRtcServer({
    listenInfos: [
      { protocol: 'udp', ip: '127.0.0.1' },
      { protocol: 'tcp', ip: '127.0.0.1' },
    ],
  });

  // Get or create: two simultaneous joins wait for the same router instead of creating two.
  const rooms = new Map<string, Promise<Room>>();
  const roomNamed = (name: string): Promise<Room> => {
    let room = rooms.get(name);
    if (!room) {
      const mediaCodecs = routerMediaCodecs as unknown as types.RouterRtpCodecCapability[];
      room = worker.createRouter({ mediaCodecs }).then((router) => ({ router, peers: new Set<Peer>() }));
      rooms.set(name, room);
    }
    return room;
  };

  const inRoom = (peer: Peer): Room => {
    if (!peer.room) throw new Error('join first');
    return peer.room;
  };
  const transportOf = (peer: Peer, id: string) => {
    const transport = peer.transports.get(id);
    if (!transport) throw new Error(`no transport ${id}`);
    return transport;
  };
  const leave = (peer: Peer): void => {
    for (const transport of peer.transports.values()) transport.close(); // and with them producers, consumers
    peer.room?.peers.delete(peer);
    peer.room = undefined;
  };

  const methods: Record<string, (peer: Peer, p: Params, roomName: string) => Promise<unknown>> = {
    async join(peer, _p, roomName) {
      const room = await roomNamed(roomName);
      peer.room = room;
      room.peers.add(peer);
      const others = [...room.peers].filter((other) => other !== peer);
      return {
        routerRtpCapabilities: room.router.rtpCapabilities,
        participants: others.map((o) => ({
          producers: [...o.producers.values()].map(({ id, kind }) => ({ id, kind })),
        })),
      };
    },
    async createTransport(peer) {
      const transport = await inRoom(peer).router.createWebRtcTransport({
        webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: 1_000_000,
      });
      peer.transports.set(transport.id, transport);
      transport.observer.on('close', () => peer.transports.delete(transport.id));
      const { id, iceParameters, iceCandidates, dtlsParameters } = transport;
      return { id, iceParameters, iceCandidates, dtlsParameters };
    },
    async connectTransport(peer, p) {
      await transportOf(peer, p.transportId).connect({ dtlsParameters: p.dtlsParameters });
      return {};
    },
    async produce(peer, p) {
      const producer = await transportOf(peer, p.transportId).produce({ kind: p.kind, rtpParameters: p.rtpParameters });
      peer.producers.set(producer.id, producer);
      producer.observer.on('close', () => peer.producers.delete(producer.id));
      return { producerId: producer.id };
    },
    async consume(peer, p) {
      const { router } = inRoom(peer);
      if (!router.canConsume({ producerId: p.producerId, rtpCapabilities: p.rtpCapabilities }))
        throw new Error('cannot consume');
      const consumer = await transportOf(peer, p.transportId).consume({
        producerId: p.producerId,
        rtpCapabilities: p.rtpCapabilities,
        paused: true,
      });
      peer.consumers.set(consumer.id, consumer);
      consumer.observer.on('close', () => peer.consumers.delete(consumer.id));
      const { id, producerId, kind, rtpParameters } = consumer;
      return { consumerId: id, producerId, kind, rtpParameters };
    },
    async resumeConsumer(peer, p) {
      const consumer = peer.consumers.get(p.consumerId);
      if (!consumer) throw new Error(`no consumer ${p.consumerId}`);
      await consumer.resume();
      return {};
    },
    async leave(peer) {
      leave(peer);
      return {};
    },
  };

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws, req) => {
    const roomName = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname.slice(1));
    const peer: Peer = { transports: new Map(), producers: new Map(), consumers: new Map() };
    ws.on('close', () => leave(peer));
    ws.on('message', async (raw) => {
      const { id, method, params } = JSON.parse(String(raw)) as { id: number; method: string; params: Params };
      try {
        const handler = methods[method];
        if (!handler) throw new Error(`unknown method ${method}`);
        const result = await handler(peer, params, roomName);
        ws.send(JSON.stringify({ id, ok: true, result }));
        if (method === 'leave') ws.close();
      } catch (err) {
        ws.send(JSON.stringify({ id, ok: false, error: { code: 'ERROR', message: (err as Error).message } }));
      }
    });
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as { port: number };
  process.stdout.write(`SFU_BASELINE ${JSON.stringify({ port, workerPid: worker.pid })}\n`);
  // Runs as long as its parent: the benchmark closes stdin (or dies, which closes it too).
  process.stdin.on('end', () => process.exit(0)).resume();
}

export interface SfuBaseline {
  url(room: string): string;
  pid: number;
  workerPid: number;
  stop(): Promise<void>;
}

/** Starts the reference server as a child process; it is killed when this process exits. */
export async function startSfuBaseline(): Promise<SfuBaseline> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ port: number; workerPid: number }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('SFU_BASELINE ')) resolve(JSON.parse(line.slice('SFU_BASELINE '.length)));
    });
    void exited.then(() => reject(new Error(`sfu-baseline exited (${child.exitCode}) before it listened`)));
  });
  return {
    url: (room) => `ws://127.0.0.1:${ready.port}/${encodeURIComponent(room)}`,
    pid: child.pid!,
    workerPid: ready.workerPid,
    stop: async () => {
      process.off('exit', kill);
      child.stdin.end();
      await exited;
    },
  };
}

if (import.meta.main) await serve();
