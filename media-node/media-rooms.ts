/**
 * What the media node holds for each room: one router on one worker, and the transports, producers and
 * consumers created in it, indexed by id and by participant so the edge can close a participant at once.
 * Operations that the edge may retry (ensureRouter, closeParticipant, closeRoom) are idempotent.
 */
import type { types } from 'mediasoup';
import type { ControlBody, ControlResponse, MediaEvent, NodeLoad } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { routerMediaCodecs } from '../shared/media-codecs.ts';
import type { WorkerPool, PooledWorker } from './worker-pool.ts';

/** Where the node's observations go (to the edge, through registration.ts). */
export type MediaEventSink = (room: string, event: MediaEvent) => void;

/** A producer's score goes to the edge at most this often (scores can change several times a second). */
const SCORE_INTERVAL_MS = 1_000;

interface MediaRoom {
  router: types.Router;
  activeSpeaker: types.ActiveSpeakerObserver;
  pooled: PooledWorker;
  transports: Map<string, types.WebRtcTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
  /** participantId → its transport ids. */
  byParticipant: Map<string, Set<string>>;
  /** Peer node id → the PipeTransport to that node's router for this room. */
  pipes: Map<string, types.PipeTransport>;
  /** Producers sent into a pipe: `${peer} ${producerId}` → the pipe consumer. */
  pipeConsumers: Map<string, types.Consumer>;
}

/** Where this node's pipe transports listen, as other media nodes reach them. */
export interface PipeListen {
  ip: string;
  announcedAddress?: string | undefined;
}

export class MediaRooms {
  readonly #pool: WorkerPool;
  readonly #rooms = new Map<string, MediaRoom>();
  /** Routers being created: a retried ensureRouter waits for the same one instead of making a second. */
  readonly #creating = new Map<string, Promise<MediaRoom>>();
  readonly #emit: MediaEventSink;
  readonly #pipeListen: PipeListen;

  constructor(pool: WorkerPool, emit: MediaEventSink = () => {}, pipeListen: PipeListen = { ip: '127.0.0.1' }) {
    this.#pool = pool;
    this.#emit = emit;
    this.#pipeListen = pipeListen;
  }

  async ensureRouter(room: string): Promise<ControlResponse<'ensureRouter'>> {
    const r = await this.#getOrCreate(room);
    return { rtpCapabilities: r.router.rtpCapabilities as ControlResponse<'ensureRouter'>['rtpCapabilities'] };
  }

  async createTransport(room: string, body: ControlBody<'createTransport'>): Promise<ControlResponse<'createTransport'>> {
    const r = await this.#getOrCreate(room);
    const transport = await r.router.createWebRtcTransport({
      webRtcServer: r.pooled.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { participantId: body.participantId, direction: body.direction },
    });
    r.transports.set(transport.id, transport);
    let set = r.byParticipant.get(body.participantId);
    if (!set) r.byParticipant.set(body.participantId, (set = new Set()));
    set.add(transport.id);
    transport.observer.on('close', () => {
      r.transports.delete(transport.id);
      set.delete(transport.id);
    });
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates as ControlResponse<'createTransport'>['iceCandidates'],
      dtlsParameters: transport.dtlsParameters as ControlResponse<'createTransport'>['dtlsParameters'],
    };
  }

  async connectTransport(room: string, transportId: string, body: ControlBody<'connectTransport'>): Promise<ControlResponse<'connectTransport'>> {
    await this.#transport(room, transportId).connect({ dtlsParameters: body.dtlsParameters as types.DtlsParameters });
    return {};
  }

  async restartIce(room: string, transportId: string): Promise<ControlResponse<'restartIce'>> {
    const iceParameters = await this.#transport(room, transportId).restartIce();
    return { iceParameters: iceParameters as ControlResponse<'restartIce'>['iceParameters'] };
  }

  async produce(room: string, transportId: string, body: ControlBody<'produce'>): Promise<ControlResponse<'produce'>> {
    const r = this.#room(room);
    const transport = this.#transport(room, transportId);
    const producer = await transport.produce({
      kind: body.kind,
      rtpParameters: body.rtpParameters as types.RtpParameters,
      appData: { source: body.source, participantId: transport.appData.participantId },
    });
    r.producers.set(producer.id, producer);
    producer.observer.on('close', () => r.producers.delete(producer.id));
    if (producer.kind === 'audio') await r.activeSpeaker.addProducer({ producerId: producer.id });
    this.#reportScores(room, producer);
    return { producerId: producer.id };
  }

  async setProducerPaused(room: string, producerId: string, body: ControlBody<'setProducerPaused'>): Promise<ControlResponse<'setProducerPaused'>> {
    const producer = this.#room(room).producers.get(producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId}`);
    if (body.paused) await producer.pause();
    else await producer.resume();
    return {};
  }

  async setConsumerLayers(room: string, consumerId: string, body: ControlBody<'setConsumerLayers'>): Promise<ControlResponse<'setConsumerLayers'>> {
    const consumer = this.#room(room).consumers.get(consumerId);
    if (!consumer) throw new TreffpunktError(ErrorCode.NotFound, `no consumer ${consumerId}`);
    if (consumer.kind !== 'video' || consumer.type !== 'simulcast') return {};
    await consumer.setPreferredLayers(body.temporalLayer === undefined ? { spatialLayer: body.spatialLayer } : { spatialLayer: body.spatialLayer, temporalLayer: body.temporalLayer });
    return {};
  }

  /** A producer's score (the worst of its streams) whenever it changes, at most once per SCORE_INTERVAL_MS. */
  #reportScores(room: string, producer: types.Producer): void {
    let sent = -1;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      if (producer.closed) return;
      const score = producer.score.length ? Math.min(...producer.score.map((s) => s.score)) : 0;
      if (score !== sent) {
        sent = score;
        this.#emit(room, { type: 'producerScore', producerId: producer.id, score });
      }
    };
    producer.on('score', () => {
      timer ??= setTimeout(flush, SCORE_INTERVAL_MS);
    });
    producer.observer.on('close', () => clearTimeout(timer));
  }

  async closeProducer(room: string, producerId: string): Promise<ControlResponse<'closeProducer'>> {
    this.#rooms.get(room)?.producers.get(producerId)?.close();
    return {};
  }

  async consume(room: string, transportId: string, body: ControlBody<'consume'>): Promise<ControlResponse<'consume'>> {
    const r = this.#room(room);
    const transport = this.#transport(room, transportId);
    if (!r.producers.has(body.producerId)) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${body.producerId}`);
    const rtpCapabilities = body.rtpCapabilities as types.RtpCapabilities;
    if (!r.router.canConsume({ producerId: body.producerId, rtpCapabilities })) {
      throw new TreffpunktError(ErrorCode.CannotConsume, 'your RTP capabilities cannot receive this producer');
    }
    // Paused until the client has set up its side; it resumes the consumer then (no lost keyframe).
    const consumer = await transport.consume({ producerId: body.producerId, rtpCapabilities, paused: true });
    r.consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => r.consumers.delete(consumer.id));
    return {
      consumerId: consumer.id,
      producerId: body.producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as ControlResponse<'consume'>['rtpParameters'],
    };
  }

  /** Idempotent: an unknown consumer (already closed with its producer or transport) is fine. */
  async closeConsumer(room: string, consumerId: string): Promise<ControlResponse<'closeConsumer'>> {
    this.#rooms.get(room)?.consumers.get(consumerId)?.close();
    return {};
  }

  async resumeConsumer(room: string, consumerId: string): Promise<ControlResponse<'resumeConsumer'>> {
    const consumer = this.#room(room).consumers.get(consumerId);
    if (!consumer) throw new TreffpunktError(ErrorCode.NotFound, `no consumer ${consumerId}`);
    await consumer.resume();
    return {};
  }

  async closeParticipant(room: string, participantId: string): Promise<ControlResponse<'closeParticipant'>> {
    const r = this.#rooms.get(room);
    for (const id of r?.byParticipant.get(participantId) ?? []) r?.transports.get(id)?.close();
    r?.byParticipant.delete(participantId);
    return {};
  }

  /**
   * This room's PipeTransport towards a peer node (made on first use). SRTP is always on: the pipe may
   * cross the internet between operators. RTX/NACK too, so that loss on that path is repaired.
   */
  async createPipe(room: string, peer: string): Promise<ControlResponse<'createPipe'>> {
    const r = await this.#getOrCreate(room);
    let pipe = r.pipes.get(peer);
    if (!pipe) {
      pipe = await r.router.createPipeTransport({
        listenInfo: { protocol: 'udp', ip: this.#pipeListen.ip, ...(this.#pipeListen.announcedAddress ? { announcedAddress: this.#pipeListen.announcedAddress } : {}) },
        enableSrtp: true,
        enableRtx: true,
        appData: { peer },
      });
      r.pipes.set(peer, pipe);
      const created = pipe;
      created.observer.on('close', () => {
        if (r.pipes.get(peer) === created) r.pipes.delete(peer);
      });
    }
    const srtp = pipe.srtpParameters;
    if (!srtp) throw new TreffpunktError(ErrorCode.MediaNodeError, 'pipe transport has no SRTP parameters');
    return { ip: pipe.tuple.localAddress, port: pipe.tuple.localPort, srtpParameters: srtp };
  }

  async connectPipe(room: string, peer: string, body: ControlBody<'connectPipe'>): Promise<ControlResponse<'connectPipe'>> {
    const pipe = this.#pipe(room, peer);
    if (pipe.tuple.remotePort) {
      if (pipe.tuple.remoteIp === body.ip && pipe.tuple.remotePort === body.port) return {};
      throw new TreffpunktError(ErrorCode.BadMessage, `the pipe to ${peer} is connected elsewhere; close it first`);
    }
    await pipe.connect({ ip: body.ip, port: body.port, srtpParameters: body.srtpParameters });
    return {};
  }

  /** Sends a producer of this node into the pipe to `peer` (idempotent). */
  async pipeConsume(room: string, peer: string, body: ControlBody<'pipeConsume'>): Promise<ControlResponse<'pipeConsume'>> {
    const r = this.#room(room);
    const pipe = this.#pipe(room, peer);
    const producer = r.producers.get(body.producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${body.producerId}`);
    const key = `${peer} ${producer.id}`;
    let consumer = r.pipeConsumers.get(key);
    if (!consumer) {
      consumer = await pipe.consume({ producerId: producer.id });
      r.pipeConsumers.set(key, consumer);
      const made = consumer;
      made.observer.on('close', () => r.pipeConsumers.delete(key));
    }
    return { kind: consumer.kind, rtpParameters: consumer.rtpParameters as ControlResponse<'pipeConsume'>['rtpParameters'], paused: producer.paused, source: producer.appData.source as ControlResponse<'pipeConsume'>['source'] };
  }

  /** Makes a producer piped in from `peer` consumable here under its own id (idempotent). */
  async pipeProduce(room: string, peer: string, body: ControlBody<'pipeProduce'>): Promise<ControlResponse<'pipeProduce'>> {
    const r = this.#room(room);
    const pipe = this.#pipe(room, peer);
    if (r.producers.has(body.producerId)) return {};
    // Not observed for the active speaker nor scored here: the node the producer lives on does that.
    const producer = await pipe.produce({ id: body.producerId, kind: body.kind, rtpParameters: body.rtpParameters as types.RtpParameters, paused: body.paused, appData: { source: body.source, pipedFrom: peer } });
    r.producers.set(producer.id, producer);
    producer.observer.on('close', () => r.producers.delete(producer.id));
    return {};
  }

  async closePipe(room: string, peer: string): Promise<ControlResponse<'closePipe'>> {
    this.#rooms.get(room)?.pipes.get(peer)?.close();
    return {};
  }

  /** For tests and diagnostics: a room's pipe to a peer node, and how many producers it carries out. */
  pipe(room: string, peer: string): { transport: types.PipeTransport; pipedOut: number } | undefined {
    const r = this.#rooms.get(room);
    const transport = r?.pipes.get(peer);
    if (!r || !transport) return undefined;
    return { transport, pipedOut: [...r.pipeConsumers.keys()].filter((k) => k.startsWith(`${peer} `)).length };
  }

  async closeRoom(room: string): Promise<ControlResponse<'closeRoom'>> {
    const r = this.#rooms.get(room);
    if (r) {
      this.#rooms.delete(room);
      r.router.close();
      r.pooled.routers--;
    }
    return {};
  }

  /** For tests and diagnostics: the live consumer of a room. */
  consumer(room: string, consumerId: string): types.Consumer | undefined {
    return this.#rooms.get(room)?.consumers.get(consumerId);
  }

  load(): NodeLoad {
    let transports = 0;
    let producers = 0;
    let consumers = 0;
    for (const r of this.#rooms.values()) {
      transports += r.transports.size + r.pipes.size;
      producers += r.producers.size;
      consumers += r.consumers.size;
    }
    return { workers: this.#pool.workers.length, routers: this.#rooms.size, transports, producers, consumers };
  }

  async #getOrCreate(room: string): Promise<MediaRoom> {
    const existing = this.#rooms.get(room);
    if (existing) return existing;
    let pending = this.#creating.get(room);
    if (!pending) {
      pending = (async () => {
        const pooled = this.#pool.leastLoaded();
        pooled.routers++;
        try {
          const router = await pooled.worker.createRouter({ mediaCodecs: routerMediaCodecs as unknown as types.RouterRtpCodecCapability[] });
          // The SFU decides who speaks: the dominant speaker over a few hundred ms, not the loudest packet.
          const activeSpeaker = await router.createActiveSpeakerObserver({ interval: 300 });
          activeSpeaker.on('dominantspeaker', ({ producer }) => this.#emit(room, { type: 'activeSpeaker', producerId: producer.id }));
          const r: MediaRoom = { router, activeSpeaker, pooled, transports: new Map(), producers: new Map(), consumers: new Map(), byParticipant: new Map(), pipes: new Map(), pipeConsumers: new Map() };
          this.#rooms.set(room, r);
          return r;
        } catch (err) {
          pooled.routers--;
          throw err;
        } finally {
          this.#creating.delete(room);
        }
      })();
      this.#creating.set(room, pending);
    }
    return pending;
  }

  #room(room: string): MediaRoom {
    const r = this.#rooms.get(room);
    if (!r) throw new TreffpunktError(ErrorCode.NotFound, `no router for room ${room}`);
    return r;
  }

  #pipe(room: string, peer: string): types.PipeTransport {
    const p = this.#room(room).pipes.get(peer);
    if (!p) throw new TreffpunktError(ErrorCode.NotFound, `no pipe to ${peer} in room ${room}`);
    return p;
  }

  #transport(room: string, transportId: string): types.WebRtcTransport {
    const t = this.#room(room).transports.get(transportId);
    if (!t) throw new TreffpunktError(ErrorCode.NotFound, `no transport ${transportId}`);
    return t;
  }
}
