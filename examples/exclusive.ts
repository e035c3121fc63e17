/**
 * Exclusive Runs: a task that runs once per second across every replica of
 * the service, not once per replica.
 *
 *   npx tsx examples/exclusive.ts           (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Start it three times against the same Redis: `exclusive_service:ticks`
 * still grows by one a second. Each second one replica claims the run in
 * Redis and the others count it as done `elsewhere` (see `daebus:tasks`).
 */
import { cache, Daebus, logger } from '../src/index.js';

const app = new Daebus('exclusive');

app.background(
  'tick',
  1,
  async () => {
    const ticks = await cache.incr('exclusive_service:ticks');
    logger.info({ ticks }, `tick ${ticks}`);
  },
  // Replicas agree on a grid anchored at the epoch, and claim each run in Redis.
  { exclusive: true },
);

await app.run({ service: 'exclusive_service' });
