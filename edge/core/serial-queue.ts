/**
 * Runs async tasks one at a time, in order. A room uses it so that it handles one message at a time even
 * while a task awaits a media node: two joins can never both pick a node or both see an empty room.
 * (A Durable Object's input gate does not cover outgoing fetches, so the Worker needs this too.)
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    // The queue goes on whether the task failed or not; the caller sees the failure through `result`.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
