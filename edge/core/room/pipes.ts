/**
 * Rooms across media nodes: when a participant on node B consumes a producer that lives on node A, the
 * producer is piped from A's router to B's over one SRTP-encrypted PipeTransport pair per room and node
 * pair, once per destination node however many consume it there (the piped producer keeps its id, so
 * B's consumers use it like a local one). Pause and close follow the producer to every node it was piped
 * to. Node ↔ node traffic is set up by the edge through both nodes' control APIs: nodes never trust
 * each other, only the edge.
 */
import { errorFields } from '../logger.ts';
import type { MediaNodeClient } from '../media-node-client.ts';
import type { RoomContext } from './context.ts';
import type { Producer } from './participant.ts';

export class RoomPipes {
  readonly #ctx: RoomContext;
  readonly #room: string;
  /** Pipes and node links being set up, by what they set up (see #once). */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(ctx: RoomContext) {
    this.#ctx = ctx;
    this.#room = ctx.name;
  }

  /**
   * Makes `producerId` (living on `from`) consumable on `to`. Idempotent, and shared: participants'
   * lanes (../room-queue.ts) that consume the same producer on the same node at once wait for one pipe.
   */
  ensurePiped(producerId: string, producer: Producer, from: string, to: string): Promise<void> {
    if (from === to || producer.pipedTo?.includes(to)) return Promise.resolve();
    return this.#once(`piped ${producerId} ${to}`, () => this.#pipe(producerId, from, to));
  }

  async #pipe(producerId: string, from: string, to: string): Promise<void> {
    await this.#ensureLink(from, to);
    const [a, b] = await Promise.all([this.#ctx.deps.nodes.client(from), this.#ctx.deps.nodes.client(to)]);
    const out = await a.call('pipeConsume', { room: this.#room, peerNodeId: to }, { producerId });
    await b.call('pipeProduce', { room: this.#room, peerNodeId: from }, { producerId, ...out });
    if (!this.#ctx.state.hasProducer(producerId)) {
      // Closed by its owner's lane meanwhile, after closeCopies looked: this copy is nobody's to close.
      await b.call('closeProducer', { room: this.#room, producerId }, {}).catch(() => {});
      return;
    }
    // Paused or resumed by its owner's lane meanwhile, after setPaused looked at the copies: this one too.
    const { paused } = this.#ctx.state.producerOwner(producerId).producers.get(producerId)!;
    if (paused !== out.paused) await b.call('setProducerPaused', { room: this.#room, producerId }, { paused });
    this.#ctx.state.pipedTo(producerId, to);
  }

  /** Runs `work` once for everyone who asks for `key` while it runs (a failure is everyone's; the next asks again). */
  #once(key: string, work: () => Promise<void>): Promise<void> {
    let running = this.#inFlight.get(key);
    if (!running) {
      running = work().finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, running);
    }
    return running;
  }

  /** Pauses or resumes the piped copies of a producer (the original is the caller's business). */
  async setPaused(producerId: string, producer: Producer, paused: boolean): Promise<void> {
    await this.#eachCopy(
      producer,
      (node) => node.call('setProducerPaused', { room: this.#room, producerId }, { paused }),
      'pause',
    );
  }

  /**
   * Closes the piped copies of a producer that has left the room state (closed, or its owner left);
   * their consumers on those nodes close with them.
   */
  async closeCopies(producerId: string, producer: Producer): Promise<void> {
    await this.#eachCopy(producer, (node) => node.call('closeProducer', { room: this.#room, producerId }, {}), 'close');
  }

  /**
   * Forgets a node the room leaves: closes the other ends of its pipes (which closes everything piped
   * from it, so consumers of its producers elsewhere end) and drops it from every producer's copies.
   */
  async dropNode(nodeId: string): Promise<void> {
    const { state, deps } = this.#ctx;
    for (const other of state.routers.unlink(nodeId)) {
      try {
        const node = await deps.nodes.client(other);
        await node.call('closePipe', { room: this.#room, peerNodeId: nodeId }, {});
      } catch (err) {
        deps.log.warn({ room: this.#room, node: other, peer: nodeId, ...errorFields(err) }, 'closing a pipe failed');
      }
      // The leaving node's end, while it may still answer (draining); a dead node closes nothing.
      void deps.nodes
        .client(nodeId)
        .then((node) => node.call('closePipe', { room: this.#room, peerNodeId: other }, {}))
        .catch(() => {});
    }
    state.forgetCopiesOn(nodeId);
  }

  #ensureLink(a: string, b: string): Promise<void> {
    if (this.#ctx.state.routers.isLinked(a, b)) return Promise.resolve();
    return this.#once(`link ${[a, b].sort().join(' ')}`, () => this.#link(a, b));
  }

  async #link(a: string, b: string): Promise<void> {
    const [na, nb] = await Promise.all([this.#ctx.deps.nodes.client(a), this.#ctx.deps.nodes.client(b)]);
    const [endA, endB] = await Promise.all([
      na.call('createPipe', { room: this.#room, peerNodeId: b }, {}),
      nb.call('createPipe', { room: this.#room, peerNodeId: a }, {}),
    ]);
    await Promise.all([
      na.call('connectPipe', { room: this.#room, peerNodeId: b }, endB),
      nb.call('connectPipe', { room: this.#room, peerNodeId: a }, endA),
    ]);
    this.#ctx.state.routers.link(a, b);
    this.#ctx.deps.log.info({ room: this.#room, nodes: [a, b] }, 'media nodes piped for the room');
  }

  async #eachCopy(producer: Producer, op: (node: MediaNodeClient) => Promise<unknown>, what: string): Promise<void> {
    await Promise.all(
      (producer.pipedTo ?? []).map(async (nodeId) => {
        try {
          await op(await this.#ctx.deps.nodes.client(nodeId));
        } catch (err) {
          this.#ctx.deps.log.warn(
            { room: this.#room, node: nodeId, ...errorFields(err) },
            `piped producer ${what} failed`,
          );
        }
      }),
    );
  }
}
