/**
 * One room's PipeTransport towards one peer media node (a room that spans nodes, docs/multi-node.md), and
 * the producers of this node sent into it. SRTP is always on: the pipe may cross the internet between
 * operators. RTX/NACK too, so that loss on that path is repaired.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { ControlBody, ControlResponse } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';

/** Where this node's pipe transports listen, as other media nodes reach them. */
export interface PipeListen {
  ip: string;
  announcedAddress?: string | undefined;
}

export interface PipeObserverEvents {
  /** The transport closed: by close(), or with its router. */
  close: [];
}

export class Pipe {
  readonly #peer: string;
  readonly #transport: types.PipeTransport;
  /** Producers of this node sent into the pipe: producer id → its pipe consumer. */
  readonly #consumers = new Map<string, types.Consumer>();
  readonly observer = new EventEmitter<PipeObserverEvents>();

  private constructor(peer: string, transport: types.PipeTransport) {
    this.#peer = peer;
    this.#transport = transport;
    transport.observer.on('close', () => this.observer.emit('close'));
  }

  static async create(router: types.Router, peer: string, listen: PipeListen): Promise<Pipe> {
    const transport = await router.createPipeTransport({
      listenInfo: {
        protocol: 'udp',
        ip: listen.ip,
        ...(listen.announcedAddress ? { announcedAddress: listen.announcedAddress } : {}),
      },
      enableSrtp: true,
      enableRtx: true,
      appData: { peer },
    });
    return new Pipe(peer, transport);
  }

  /** The peer node's id. */
  get peer(): string {
    return this.#peer;
  }

  /** For diagnostics: the transport itself (tuple, SRTP parameters, stats). */
  get transport(): types.PipeTransport {
    return this.#transport;
  }

  /** How many producers of this node the pipe carries out. */
  get pipedOut(): number {
    return this.#consumers.size;
  }

  /** This end, as the peer node connects to it. */
  localEnd(): ControlResponse<'createPipe'> {
    const srtp = this.#transport.srtpParameters;
    if (!srtp) throw new TreffpunktError(ErrorCode.MediaNodeError, 'pipe transport has no SRTP parameters');
    return { ip: this.#transport.tuple.localAddress, port: this.#transport.tuple.localPort, srtpParameters: srtp };
  }

  /** Connects to the peer's end; again with the same end is fine, another end is refused. */
  async connect(end: ControlBody<'connectPipe'>): Promise<void> {
    const { tuple } = this.#transport;
    if (tuple.remotePort) {
      if (tuple.remoteIp === end.ip && tuple.remotePort === end.port) return;
      throw new TreffpunktError(
        ErrorCode.BadMessage,
        `the pipe to ${this.#peer} is connected elsewhere; close it first`,
      );
    }
    await this.#transport.connect({ ip: end.ip, port: end.port, srtpParameters: end.srtpParameters });
  }

  /** Sends a producer of this node into the pipe (idempotent): what the peer needs to produce it there. */
  async send(producer: types.Producer): Promise<ControlResponse<'pipeConsume'>> {
    let consumer = this.#consumers.get(producer.id);
    if (!consumer) {
      consumer = await this.#transport.consume({ producerId: producer.id });
      this.#consumers.set(producer.id, consumer);
      consumer.observer.on('close', () => this.#consumers.delete(producer.id));
    }
    return {
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as ControlResponse<'pipeConsume'>['rtpParameters'],
      paused: producer.paused,
      source: producer.appData.source as ControlResponse<'pipeConsume'>['source'],
    };
  }

  /** A producer the peer sends into the pipe, under its own id, so that it can be consumed on this node. */
  async receive(body: ControlBody<'pipeProduce'>): Promise<types.Producer> {
    return this.#transport.produce({
      id: body.producerId,
      kind: body.kind,
      rtpParameters: body.rtpParameters as types.RtpParameters,
      paused: body.paused,
      appData: { source: body.source, pipedFrom: this.#peer },
    });
  }

  /** Closes the transport and everything piped through it. */
  close(): void {
    this.#transport.close();
  }
}
