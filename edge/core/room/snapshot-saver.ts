/**
 * Saves a room's state after each change, one save at a time, and as few as will do. Lane tasks
 * (../room-queue.ts) finish side by side; each must not be answered before a save that began after its
 * change has committed. A store sees one save at a time (a NATS store writes compare-and-set on its last
 * revision), and the changes of everyone who asked while a save was running go into the next one.
 *
 * A save starts at the end of the event loop's turn, not at once: the SQLite store writes synchronously,
 * so without the wait every change would pay its own snapshot (the whole room as JSON) even when fifty
 * lanes finish on the results of one read from the node link (issue 14, docs/benchmarks.md).
 */
export class SnapshotSaver {
  readonly #write: () => Promise<void>;
  #running: Promise<void> | undefined;
  /** A save asked for that has not started yet: it covers every change until it starts. */
  #next: Promise<void> | undefined;

  /** `write`: takes the state as it is when called, and saves it. */
  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Resolves when the state as it is now has been saved; rejects with the failure of that save. */
  save(): Promise<void> {
    if (this.#next) return this.#next;
    const next = (this.#running ?? Promise.resolve())
      .catch(() => undefined)
      .then(endOfTurn)
      .then(() => {
        this.#next = undefined;
        return this.#start();
      });
    this.#next = next;
    return next;
  }

  #start(): Promise<void> {
    const running = this.#write();
    this.#running = running;
    const done = () => {
      if (this.#running === running) this.#running = undefined;
    };
    running.then(done, done);
    return running;
  }
}

/**
 * After the I/O callbacks of this turn (Node's setImmediate). The Worker has no setImmediate: a zero
 * timer there runs after the current event, which is what it needs.
 */
const endOfTurn = (): Promise<void> =>
  new Promise((resolve) =>
    typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(resolve) : setTimeout(resolve, 0),
  );
