import type { Redis } from 'ioredis';

interface Pending {
  channel: string;
  message: string;
  resolve: (receivers: number) => void;
  reject: (err: unknown) => void;
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

  constructor(client: Redis) {
    this.#client = client;
  }

  publish(channel: string, message: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ channel, message, resolve, reject }) === 1)
        process.nextTick(this.#flush);
    });
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      this.#client.publish(only.channel, only.message).then(only.resolve, only.reject);
      return;
    }
    const pipeline = this.#client.pipeline();
    for (const { channel, message } of batch) pipeline.publish(channel, message);
    pipeline.exec().then(
      (results) => {
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
        for (const pending of batch) pending.reject(err);
      },
    );
  };
}
