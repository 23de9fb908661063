/**
 * Saves a room's state after each change, one save at a time, and as few as will do. Lane tasks
 * (../room-queue.ts) finish side by side; each must not be answered before a save that began after its
 * change has committed. A store sees one save at a time (a NATS store writes compare-and-set on its last
 * revision), and the changes of everyone who asked while a save was running go into the next one.
 */
export class SnapshotSaver {
  readonly #write: () => Promise<void>;
  #running: Promise<void> | undefined;
  /** A save asked for while one runs: it starts when that one ends and covers every change until then. */
  #next: Promise<void> | undefined;

  /** `write`: takes the state as it is when called, and saves it. */
  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  /** Resolves when the state as it is now has been saved; rejects with the failure of that save. */
  save(): Promise<void> {
    if (this.#next) return this.#next;
    if (!this.#running) return this.#start();
    const next = this.#running
      .catch(() => undefined)
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
