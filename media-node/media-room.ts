/**
 * One room on this node: one router on one worker, and the transports, producers and consumers created in
 * it, indexed by id and by participant so that the edge can close a participant at once. Its pipes to
 * other nodes are in room-pipes.ts, what it tells the edge in room-observers.ts. Operations that the edge
 * may retry (closeProducer, closeParticipant, close) are idempotent.
 */
import type { types } from 'mediasoup';
import type { ControlBody, ControlResponse } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { routerMediaCodecs } from '../shared/media-codecs.ts';
import { FIRST_PICTURE_LAYERS, FirstPictureLayers } from './first-picture-layers.ts';
import type { PipeListen } from './pipe.ts';
import { RoomObservers, type RoomEventSink } from './room-observers.ts';
import { RoomPipes } from './room-pipes.ts';
import type { PooledWorker } from './worker-pool.ts';

export interface MediaRoomOptions {
  name: string;
  /** The worker the router goes on. */
  pooled: PooledWorker;
  /** This room's media events, towards the edge. */
  emit: RoomEventSink;
  pipeListen: PipeListen;
  tuning: MediaRoomTuning;
}

/** How the room's media is handled (media-node/settings.ts). */
export interface MediaRoomTuning {
  /**
   * A video producer's sender is asked for a key frame at most once per this many ms (mediasoup's
   * keyFrameRequestDelay); a request within that window is sent when it ends. Why: libwebrtc senders
   * ignore a key frame request that comes within 300 ms of the one before (EncoderRtcpFeedback), and
   * mediasoup asks again only after 1 s (KeyFrameRequestManager). Two consumers resumed 100 ms apart
   * (three people joining at once) left the second without a picture for that second.
   */
  keyFrameRequestDelayMs: number;
}

/** What one room holds, for the node's load report. */
export interface MediaRoomCounts {
  transports: number;
  producers: number;
  consumers: number;
}

export class MediaRoom {
  readonly #name: string;
  readonly #router: types.Router;
  readonly #pooled: PooledWorker;
  readonly #observers: RoomObservers;
  readonly #pipes: RoomPipes;
  readonly #tuning: MediaRoomTuning;
  readonly #transports = new Map<string, types.WebRtcTransport>();
  /** Local producers and those piped in from other nodes: both can be consumed here. */
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  /** Simulcast consumers start on the lowest layer until their first picture (first-picture-layers.ts). */
  readonly #firstPicture = new FirstPictureLayers();
  /** participantId → its transport ids. */
  readonly #byParticipant = new Map<string, Set<string>>();
  #closed = false;

  private constructor(opts: MediaRoomOptions & { router: types.Router; observers: RoomObservers }) {
    this.#name = opts.name;
    this.#router = opts.router;
    this.#pooled = opts.pooled;
    this.#observers = opts.observers;
    this.#tuning = opts.tuning;
    this.#pipes = new RoomPipes({
      room: opts.name,
      router: opts.router,
      listen: opts.pipeListen,
      producers: { get: (id) => this.#producers.get(id), add: (producer) => this.#addProducer(producer) },
    });
  }

  /** A router on the given worker, counted there so that the pool spreads rooms over its workers. */
  static async create(opts: MediaRoomOptions): Promise<MediaRoom> {
    const { pooled } = opts;
    pooled.routers++;
    let router: types.Router | undefined;
    try {
      router = await pooled.worker.createRouter({
        mediaCodecs: routerMediaCodecs as unknown as types.RouterRtpCodecCapability[],
      });
      const observers = await RoomObservers.create(router, opts.emit);
      return new MediaRoom({ ...opts, router, observers });
    } catch (err) {
      router?.close();
      pooled.routers--;
      throw err;
    }
  }

  get name(): string {
    return this.#name;
  }

  get rtpCapabilities(): ControlResponse<'ensureRouter'>['rtpCapabilities'] {
    return this.#router.rtpCapabilities as ControlResponse<'ensureRouter'>['rtpCapabilities'];
  }

  /** The room's pipes to other media nodes. */
  get pipes(): RoomPipes {
    return this.#pipes;
  }

  async createTransport(body: ControlBody<'createTransport'>): Promise<ControlResponse<'createTransport'>> {
    const transport = await this.#router.createWebRtcTransport({
      webRtcServer: this.#pooled.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { participantId: body.participantId, direction: body.direction },
    });
    this.#transports.set(transport.id, transport);
    let ids = this.#byParticipant.get(body.participantId);
    if (!ids) this.#byParticipant.set(body.participantId, (ids = new Set()));
    ids.add(transport.id);
    transport.observer.on('close', () => {
      this.#transports.delete(transport.id);
      ids.delete(transport.id);
    });
    const made = {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates as ControlResponse<'createTransport'>['iceCandidates'],
      dtlsParameters: transport.dtlsParameters as ControlResponse<'createTransport'>['dtlsParameters'],
    };
    if (!body.clientDtlsParameters) return made;
    // As connectTransport would; parameters mediasoup refuses leave the transport unconnected, and the
    // client connects it itself (as after a failed connect with the join).
    const connected = await transport
      .connect({ dtlsParameters: body.clientDtlsParameters as types.DtlsParameters })
      .then(() => true)
      .catch(() => false);
    return { ...made, connected };
  }

  async connectTransport(
    transportId: string,
    body: ControlBody<'connectTransport'>,
  ): Promise<ControlResponse<'connectTransport'>> {
    await this.#transport(transportId).connect({ dtlsParameters: body.dtlsParameters as types.DtlsParameters });
    return {};
  }

  async restartIce(transportId: string): Promise<ControlResponse<'restartIce'>> {
    const iceParameters = await this.#transport(transportId).restartIce();
    return { iceParameters: iceParameters as ControlResponse<'restartIce'>['iceParameters'] };
  }

  async produce(transportId: string, body: ControlBody<'produce'>): Promise<ControlResponse<'produce'>> {
    const transport = this.#transport(transportId);
    const producer = await transport.produce({
      kind: body.kind,
      rtpParameters: body.rtpParameters as types.RtpParameters,
      ...(body.kind === 'video' ? { keyFrameRequestDelay: this.#tuning.keyFrameRequestDelayMs } : {}),
      appData: { source: body.source, participantId: transport.appData.participantId },
    });
    this.#addProducer(producer);
    await this.#observers.observe(producer);
    return { producerId: producer.id };
  }

  async setProducerPaused(
    producerId: string,
    body: ControlBody<'setProducerPaused'>,
  ): Promise<ControlResponse<'setProducerPaused'>> {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${producerId}`);
    if (body.paused) await producer.pause();
    else await producer.resume();
    return {};
  }

  async closeProducer(producerId: string): Promise<ControlResponse<'closeProducer'>> {
    this.#producers.get(producerId)?.close();
    return {};
  }

  async consume(transportId: string, body: ControlBody<'consume'>): Promise<ControlResponse<'consume'>> {
    const transport = this.#transport(transportId);
    const producer = this.#producers.get(body.producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${body.producerId}`);
    const rtpCapabilities = body.rtpCapabilities as types.RtpCapabilities;
    if (!this.#router.canConsume({ producerId: body.producerId, rtpCapabilities })) {
      throw new TreffpunktError(ErrorCode.CannotConsume, 'your RTP capabilities cannot receive this producer');
    }
    const firstPicture = FirstPictureLayers.applies(producer);
    // Paused until the client has set up its side; it resumes the consumer then (no lost keyframe).
    // Audio loses nothing that matters by starting at once, when the client asks for it.
    const consumer = await transport.consume({
      producerId: body.producerId,
      rtpCapabilities,
      paused: !(body.paused === false && producer.kind === 'audio'),
      ...(firstPicture ? { preferredLayers: FIRST_PICTURE_LAYERS } : {}),
    });
    if (firstPicture) this.#firstPicture.watch(consumer);
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => this.#consumers.delete(consumer.id));
    return {
      consumerId: consumer.id,
      producerId: body.producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as ControlResponse<'consume'>['rtpParameters'],
      paused: consumer.paused,
    };
  }

  async setConsumerLayers(
    consumerId: string,
    body: ControlBody<'setConsumerLayers'>,
  ): Promise<ControlResponse<'setConsumerLayers'>> {
    const consumer = this.#consumer(consumerId);
    if (consumer.kind !== 'video' || consumer.type !== 'simulcast') return {};
    await this.#firstPicture.setPreferred(
      consumer,
      body.temporalLayer === undefined
        ? { spatialLayer: body.spatialLayer }
        : { spatialLayer: body.spatialLayer, temporalLayer: body.temporalLayer },
    );
    return {};
  }

  /** Idempotent: an unknown consumer (already closed with its producer or transport) is fine. */
  closeConsumer(consumerId: string): ControlResponse<'closeConsumer'> {
    this.#consumers.get(consumerId)?.close();
    return {};
  }

  async resumeConsumer(consumerId: string): Promise<ControlResponse<'resumeConsumer'>> {
    await this.#consumer(consumerId).resume();
    return {};
  }

  /** Closes all the participant's transports, and with them its producers and consumers. */
  async closeParticipant(participantId: string): Promise<ControlResponse<'closeParticipant'>> {
    for (const id of this.#byParticipant.get(participantId) ?? []) this.#transports.get(id)?.close();
    this.#byParticipant.delete(participantId);
    return {};
  }

  /** For diagnostics: a live consumer of this room, if there is one. */
  consumer(consumerId: string): types.Consumer | undefined {
    return this.#consumers.get(consumerId);
  }

  /** The room's WebRTC transports (not its pipes), for the reaper (reaper.ts). */
  webRtcTransports(): IterableIterator<types.WebRtcTransport> {
    return this.#transports.values();
  }

  /** Nothing in it: no WebRTC transport and no pipe to another node. */
  get empty(): boolean {
    return this.#transports.size === 0 && this.#pipes.size === 0;
  }

  /** Pipes count as transports: a node that drains waits for them too. */
  counts(): MediaRoomCounts {
    return {
      transports: this.#transports.size + this.#pipes.size,
      producers: this.#producers.size,
      consumers: this.#consumers.size,
    };
  }

  /** Closes the router and everything in it (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#router.close();
    this.#pooled.routers--;
  }

  #addProducer(producer: types.Producer): void {
    this.#producers.set(producer.id, producer);
    producer.observer.on('close', () => this.#producers.delete(producer.id));
  }

  #transport(transportId: string): types.WebRtcTransport {
    const transport = this.#transports.get(transportId);
    if (!transport) throw new TreffpunktError(ErrorCode.NotFound, `no transport ${transportId}`);
    return transport;
  }

  #consumer(consumerId: string): types.Consumer {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) throw new TreffpunktError(ErrorCode.NotFound, `no consumer ${consumerId}`);
    return consumer;
  }
}
