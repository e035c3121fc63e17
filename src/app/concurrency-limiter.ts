/**
 * Runs jobs with at most `limit` of them in flight and at most `maxQueue`
 * waiting. `tryRun` says no at once when both are full, so a flood cannot
 * grow memory without bound.
 */
export class ConcurrencyLimiter {
  readonly #limit: number;
  readonly #maxQueue: number;
  /** Jobs running now; never above #limit. */
  #active = 0;
  /** Jobs waiting, oldest at #head; entries before #head are consumed. */
  #queue: Array<(() => Promise<void>) | undefined> = [];
  #head = 0;
  /** Resolvers of `onIdle()` calls, released when nothing runs or waits. */
  #idleWaiters: Array<() => void> = [];

  constructor(limit: number, maxQueue: number) {
    this.#limit = limit;
    this.#maxQueue = maxQueue;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Starts or queues a job; returns false (and does nothing) when the queue is full. */
  tryRun(job: () => Promise<void>): boolean {
    if (this.#active < this.#limit) {
      this.#start(job);
      return true;
    }
    if (this.queued >= this.#maxQueue) return false;
    this.#queue.push(job);
    return true;
  }

  /** Resolves when no job runs or waits. */
  onIdle(): Promise<void> {
    if (this.#active === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #start(job: () => Promise<void>): void {
    this.#active++;
    // Jobs catch their own errors; the finally keeps the count right regardless.
    job()
      .catch(() => undefined)
      .finally(this.#done);
  }

  readonly #done = (): void => {
    this.#active--;
    if (this.queued > 0) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#start(job);
      return;
    }
    if (this.#active === 0) {
      this.#queue = [];
      this.#head = 0;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };
}
