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

  constructor(ctx: RoomContext) {
    this.#ctx = ctx;
    this.#room = ctx.name;
  }

  /** Makes `producerId` (living on `from`) consumable on `to`. Idempotent. */
  async ensurePiped(producerId: string, producer: Producer, from: string, to: string): Promise<void> {
    if (from === to || producer.pipedTo?.includes(to)) return;
    await this.#ensureLink(from, to);
    const [a, b] = await Promise.all([this.#ctx.deps.nodes.client(from), this.#ctx.deps.nodes.client(to)]);
    const out = await a.call('pipeConsume', { room: this.#room, peerNodeId: to }, { producerId });
    await b.call('pipeProduce', { room: this.#room, peerNodeId: from }, { producerId, ...out });
    this.#ctx.state.pipedTo(producerId, to);
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

  async #ensureLink(a: string, b: string): Promise<void> {
    if (this.#ctx.state.routers.isLinked(a, b)) return;
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
