import type { Redis } from 'ioredis';

interface Pending {
  channel: string;
  message: string;
  resolve: (receivers: number) => void;
  reject: (err: unknown) => void;
}

interface BelowWaiter {
  mark: number;
  resolve: () => void;
}

/**
 * Sends the publishes of one tick (the replies of the handlers that one
 * burst of messages started, or the requests a burst of replies set off) in
 * one write: a pipeline, flushed on `process.nextTick`, so nothing waits for
 * a later turn of the event loop. A lone publish goes out as it is.
 */
export class PublishBatcher {
  readonly #client: Redis;
  /** Publishes waiting for this tick's flush. */
  #pending: Pending[] = [];
  /** Publishes not settled yet: waiting for the flush, or sent and waiting for Redis. */
  #outstanding = 0;
  /** `whenBelow` calls waiting for #outstanding to drop under their mark. */
  #belowWaiters: BelowWaiter[] = [];

  constructor(client: Redis) {
    this.#client = client;
  }

  /** Publishes not settled yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  publish(channel: string, message: string): Promise<number> {
    this.#outstanding++;
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ channel, message, resolve, reject }) === 1)
        process.nextTick(this.#flush);
    });
  }

  /** Resolves once fewer than `mark` publishes are outstanding. */
  whenBelow(mark: number): Promise<void> {
    if (this.#outstanding < mark) return Promise.resolve();
    return new Promise((resolve) => this.#belowWaiters.push({ mark, resolve }));
  }

  /** Counts `count` publishes as answered, and wakes the `whenBelow` calls that waited for it. */
  #settled(count: number): void {
    this.#outstanding -= count;
    if (this.#belowWaiters.length === 0) return;
    const still: BelowWaiter[] = [];
    for (const waiter of this.#belowWaiters) {
      if (this.#outstanding < waiter.mark) waiter.resolve();
      else still.push(waiter);
    }
    this.#belowWaiters = still;
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      this.#client.publish(only.channel, only.message).then(
        (receivers) => {
          this.#settled(1);
          only.resolve(receivers);
        },
        (err: unknown) => {
          this.#settled(1);
          only.reject(err);
        },
      );
      return;
    }
    const pipeline = this.#client.pipeline();
    for (const { channel, message } of batch) pipeline.publish(channel, message);
    pipeline.exec().then(
      (results) => {
        this.#settled(batch.length);
        batch.forEach((pending, i) => {
          const [err, receivers] = results?.[i] ?? [
            new Error('no reply to a pipelined publish'),
            0,
          ];
          if (err) pending.reject(err);
          else pending.resolve(receivers as number);
        });
      },
      (err: unknown) => {
        this.#settled(batch.length);
        for (const pending of batch) pending.reject(err);
      },
    );
  };
}
