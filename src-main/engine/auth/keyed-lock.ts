/**
 * Runs async work one at a time per key (per mailbox), so two workers never
 * refresh, store or forget the same mailbox's tokens at the same time.
 */
export class KeyedLock {
  private readonly tails = new Map<number, Promise<unknown>>();

  /** Runs `work` after every earlier work of the same key has settled. */
  run<T>(key: number, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
