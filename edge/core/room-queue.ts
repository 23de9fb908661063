/**
 * The order in which a room runs its work (issue 14, "serialise state, not I/O"). Two kinds of task:
 *
 * - **exclusive**: runs alone, after everything queued before it and before everything queued after it.
 *   Whatever decides for the whole room runs so — a join (two joins must never both pick a node or both
 *   see an empty room), a leave, moderation, a failover, the sweep — as every task did before lanes.
 * - **lane**: one participant's own media work (its transports, producers, consumers). Tasks of one lane
 *   run one at a time, in order; tasks of different lanes run side by side, so that fifty participants'
 *   calls to the media node wait for the node, not for each other. A lane task still waits for every
 *   exclusive task queued before it, and an exclusive task for every lane task queued before it.
 *
 * JavaScript runs one task's synchronous part at a time, so lane tasks interleave only at their awaits:
 * a lane task must check again, after an await, what another lane could have changed (see media.ts).
 * (A Durable Object's input gate does not cover outgoing fetches, so the Worker needs this too.)
 */
const settle = (): undefined => undefined;

export class RoomQueue {
  /** Settles when the last exclusive task queued so far has run. */
  #barrier: Promise<unknown> = Promise.resolve();
  /** The tail of each lane since the last exclusive task (settling, never failing). */
  readonly #lanes = new Map<string, Promise<unknown>>();

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const before = Promise.all([this.#barrier, ...this.#lanes.values()]);
    const result = before.then(task);
    this.#barrier = result.then(settle, settle);
    // Every later task waits for this one, and so for every lane task before it.
    this.#lanes.clear();
    return result;
  }

  lane<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.#barrier, this.#lanes.get(key)]).then(task);
    const tail = result.then(settle, settle);
    this.#lanes.set(key, tail);
    // An idle lane is forgotten: a room of many participants keeps only the lanes that have work.
    void tail.then(() => {
      if (this.#lanes.get(key) === tail) this.#lanes.delete(key);
    });
    return result;
  }
}
