/**
 * Rooms across media nodes: when a participant on node B consumes a producer that lives on node A, the
 * producer is piped from A's router to B's over one SRTP-encrypted PipeTransport pair per room and node
 * pair, once per destination node however many consume it there (the piped producer keeps its id, so
 * B's consumers use it like a local one). Pause and close follow the producer to every node it was piped
 * to. Node ↔ node traffic is set up by the edge through both nodes' control APIs: nodes never trust
 * each other, only the edge.
 */
import type { Logger } from './logger.ts';
import { errorFields } from './logger.ts';
import type { MediaNodeClient } from './media-node-client.ts';
import type { MediaNodes } from './media-nodes.ts';
import type { ProducerState, RoomState } from './room-state.ts';

const linkKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class RoomPipes {
  readonly #room: string;
  readonly #nodes: MediaNodes;
  readonly #log: Logger;

  constructor(room: string, nodes: MediaNodes, log: Logger) {
    this.#room = room;
    this.#nodes = nodes;
    this.#log = log;
  }

  /** Makes `producerId` (living on `from`) consumable on `to`. Idempotent. */
  async ensurePiped(state: RoomState, producerId: string, producer: ProducerState, from: string, to: string): Promise<void> {
    if (from === to || producer.pipedTo?.includes(to)) return;
    await this.#ensureLink(state, from, to);
    const [a, b] = await Promise.all([this.#nodes.client(from), this.#nodes.client(to)]);
    const out = await a.call('pipeConsume', `/v1/rooms/${this.#room}/pipes/${to}/consume`, { producerId });
    await b.call('pipeProduce', `/v1/rooms/${this.#room}/pipes/${from}/produce`, { producerId, ...out });
    producer.pipedTo = [...(producer.pipedTo ?? []), to];
  }

  /** Pauses or resumes the piped copies of a producer (the original is the caller's business). */
  async setPaused(producerId: string, producer: ProducerState, paused: boolean): Promise<void> {
    await this.#eachCopy(producer, (node) => node.call('setProducerPaused', `/v1/rooms/${this.#room}/producers/${producerId}/pause`, { paused }), 'pause');
  }

  /** Closes the piped copies of a producer; their consumers on those nodes close with them. */
  async closeCopies(producerId: string, producer: ProducerState): Promise<void> {
    await this.#eachCopy(producer, (node) => node.call('closeProducer', `/v1/rooms/${this.#room}/producers/${producerId}/close`, {}), 'close');
    producer.pipedTo = [];
  }

  /**
   * Forgets a node the room leaves: closes the other ends of its pipes (which closes everything piped
   * from it, so consumers of its producers elsewhere end) and drops it from every producer's copies.
   */
  async dropNode(state: RoomState, nodeId: string): Promise<void> {
    for (const key of [...state.links]) {
      const [a, b] = key.split('|') as [string, string];
      if (a !== nodeId && b !== nodeId) continue;
      state.links.delete(key);
      const other = a === nodeId ? b : a;
      try {
        const node = await this.#nodes.client(other);
        await node.call('closePipe', `/v1/rooms/${this.#room}/pipes/${nodeId}/close`, {});
      } catch (err) {
        this.#log.warn({ room: this.#room, node: other, peer: nodeId, ...errorFields(err) }, 'closing a pipe failed');
      }
      // The leaving node's end, while it may still answer (draining); a dead node closes nothing.
      void this.#nodes
        .client(nodeId)
        .then((node) => node.call('closePipe', `/v1/rooms/${this.#room}/pipes/${other}/close`, {}))
        .catch(() => {});
    }
    for (const p of state.participants.values()) {
      for (const producer of p.producers.values()) if (producer.pipedTo) producer.pipedTo = producer.pipedTo.filter((n) => n !== nodeId);
    }
  }

  async #ensureLink(state: RoomState, a: string, b: string): Promise<void> {
    const key = linkKey(a, b);
    if (state.links.has(key)) return;
    const [na, nb] = await Promise.all([this.#nodes.client(a), this.#nodes.client(b)]);
    const [endA, endB] = await Promise.all([
      na.call('createPipe', `/v1/rooms/${this.#room}/pipes/${b}`, {}),
      nb.call('createPipe', `/v1/rooms/${this.#room}/pipes/${a}`, {}),
    ]);
    await Promise.all([
      na.call('connectPipe', `/v1/rooms/${this.#room}/pipes/${b}/connect`, endB),
      nb.call('connectPipe', `/v1/rooms/${this.#room}/pipes/${a}/connect`, endA),
    ]);
    state.links.add(key);
    this.#log.info({ room: this.#room, nodes: [a, b] }, 'media nodes piped for the room');
  }

  async #eachCopy(producer: ProducerState, op: (node: MediaNodeClient) => Promise<unknown>, what: string): Promise<void> {
    await Promise.all(
      (producer.pipedTo ?? []).map(async (nodeId) => {
        try {
          await op(await this.#nodes.client(nodeId));
        } catch (err) {
          this.#log.warn({ room: this.#room, node: nodeId, ...errorFields(err) }, `piped producer ${what} failed`);
        }
      }),
    );
  }
}
