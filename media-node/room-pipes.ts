/**
 * A room's pipes to other media nodes, one per peer node (docs/multi-node.md): the edge creates and
 * connects both ends, then sends producers from the node they live on to the nodes that consume them.
 * Every operation is idempotent, so that the edge may retry it.
 */
import type { types } from 'mediasoup';
import type { ControlBody, ControlResponse } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';
import { Pipe, type PipeListen } from './pipe.ts';

/** The room's producers, as the pipes use them: local ones to send, piped-in ones to add. */
export interface RoomProducers {
  get(producerId: string): types.Producer | undefined;
  add(producer: types.Producer): void;
}

export class RoomPipes {
  readonly #room: string;
  readonly #router: types.Router;
  readonly #listen: PipeListen;
  readonly #producers: RoomProducers;
  /** Peer node id → the pipe to it. */
  readonly #pipes = new Map<string, Pipe>();

  constructor(opts: { room: string; router: types.Router; listen: PipeListen; producers: RoomProducers }) {
    this.#room = opts.room;
    this.#router = opts.router;
    this.#listen = opts.listen;
    this.#producers = opts.producers;
  }

  /** How many pipes are open (each is a transport of this node). */
  get size(): number {
    return this.#pipes.size;
  }

  /** The pipe to `peer` (made on first use): this end, as the peer connects to it. */
  async create(peer: string): Promise<ControlResponse<'createPipe'>> {
    let pipe = this.#pipes.get(peer);
    if (!pipe) {
      pipe = await Pipe.create(this.#router, peer, this.#listen);
      this.#pipes.set(peer, pipe);
      const created = pipe;
      created.observer.on('close', () => {
        if (this.#pipes.get(peer) === created) this.#pipes.delete(peer);
      });
    }
    return pipe.localEnd();
  }

  async connect(peer: string, end: ControlBody<'connectPipe'>): Promise<ControlResponse<'connectPipe'>> {
    await this.#pipe(peer).connect(end);
    return {};
  }

  /** Sends a producer of this node into the pipe to `peer` (idempotent). */
  async consume(peer: string, body: ControlBody<'pipeConsume'>): Promise<ControlResponse<'pipeConsume'>> {
    const pipe = this.#pipe(peer);
    const producer = this.#producers.get(body.producerId);
    if (!producer) throw new TreffpunktError(ErrorCode.NotFound, `no producer ${body.producerId}`);
    return pipe.send(producer);
  }

  /** Makes a producer piped in from `peer` consumable here under its own id (idempotent). */
  async produce(peer: string, body: ControlBody<'pipeProduce'>): Promise<ControlResponse<'pipeProduce'>> {
    const pipe = this.#pipe(peer);
    if (this.#producers.get(body.producerId)) return {};
    // Not observed for the active speaker nor scored here: the node the producer lives on does that.
    this.#producers.add(await pipe.receive(body));
    return {};
  }

  /** Closes the pipe to `peer` and everything piped through it (idempotent). */
  close(peer: string): ControlResponse<'closePipe'> {
    this.#pipes.get(peer)?.close();
    return {};
  }

  /** For diagnostics: the pipe to `peer`, if there is one. */
  find(peer: string): Pipe | undefined {
    return this.#pipes.get(peer);
  }

  #pipe(peer: string): Pipe {
    const pipe = this.#pipes.get(peer);
    if (!pipe) throw new TreffpunktError(ErrorCode.NotFound, `no pipe to ${peer} in room ${this.#room}`);
    return pipe;
  }
}
