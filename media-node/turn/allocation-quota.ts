/**
 * Allocation caps of the embedded TURN server (embedded-turn.ts): allocations per identity (the part after
 * the colon in the REST username, 486 beyond it) and in total (508). node-turn has no quotas (its
 * `checkQuota` is a TODO).
 *
 * An Allocate counts from the moment it is accepted: while its relay port is still being bound it is
 * pending, so that concurrent Allocates cannot all pass the check before any of them is made.
 */
export type QuotaRefusal = 'user quota' | 'total quota';

export class AllocationQuota {
  readonly #perUser: number;
  readonly #total: number;
  /** Allocations (made or pending) per identity. */
  readonly #users = new Map<string, number>();
  /** 5-tuples of Allocates whose relay port is being bound. */
  readonly #pending = new Set<string>();

  constructor(perUser: number, total: number) {
    this.#perUser = perUser;
    this.#total = total;
  }

  /** Whether an Allocate from this 5-tuple is still binding its port (a retransmission is then discarded). */
  isPending(fiveTuple: string): boolean {
    return this.#pending.has(fiveTuple);
  }

  /** Why a new allocation for `user` is refused, given the allocations and reservations `held` now. */
  refusal(user: string, held: number): QuotaRefusal | undefined {
    if ((this.#users.get(user) ?? 0) >= this.#perUser) return 'user quota';
    if (held + this.#pending.size >= this.#total) return 'total quota';
    return undefined;
  }

  /** Counts an accepted Allocate as pending until `settled`, and for `user` until `release`. */
  begin(fiveTuple: string, user: string): void {
    this.#pending.add(fiveTuple);
    this.#users.set(user, (this.#users.get(user) ?? 0) + 1);
  }

  /** The Allocate from this 5-tuple is made or failed: no longer pending. */
  settled(fiveTuple: string): void {
    this.#pending.delete(fiveTuple);
  }

  /** One allocation of `user` ended (or its Allocate failed). */
  release(user: string): void {
    const n = (this.#users.get(user) ?? 1) - 1;
    if (n <= 0) this.#users.delete(user);
    else this.#users.set(user, n);
  }
}
