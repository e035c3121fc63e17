import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { PublishBatcher } from '../../../src/transport/redis/publish-batcher.js';

/** A client whose publishes (alone or pipelined) are answered when the test says so. */
function fakeClient() {
  const answers: Array<() => void> = [];
  const client = {
    publish: () => new Promise<number>((resolve) => answers.push(() => resolve(1))),
    pipeline: () => {
      let count = 0;
      const pipeline = {
        publish: () => {
          count++;
          return pipeline;
        },
        exec: () =>
          new Promise<Array<[null, number]>>((resolve) =>
            answers.push(() => resolve(Array.from({ length: count }, () => [null, 1]))),
          ),
      };
      return pipeline;
    },
  };
  return { client: client as unknown as Redis, answers };
}

describe('PublishBatcher flow control', () => {
  it('counts publishes until Redis answers them, and wakes whenBelow once under the mark', async () => {
    const { client, answers } = fakeClient();
    const batcher = new PublishBatcher(client);
    const first = Array.from({ length: 3 }, (_, i) => batcher.publish('c', `m${i}`));
    expect(batcher.outstanding).toBe(3);
    await new Promise((resolve) => process.nextTick(resolve));
    const lone = batcher.publish('c', 'alone');
    expect(batcher.outstanding).toBe(4);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(answers).toHaveLength(2); // one pipeline of three, one lone publish

    let woke = false;
    const below = batcher.whenBelow(2).then(() => {
      woke = true;
    });
    answers[1]!();
    await lone;
    expect(batcher.outstanding).toBe(3);
    expect(woke).toBe(false);
    answers[0]!();
    await Promise.all([...first, below]);
    expect(batcher.outstanding).toBe(0);
    expect(woke).toBe(true);
    await expect(batcher.whenBelow(1)).resolves.toBeUndefined();
  });
});
