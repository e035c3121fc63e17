/**
 * One-time Tasks: an action that schedules a task to run once, after a delay.
 *
 *   npx tsx examples/one-time.ts            (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Then send `{"action": "schedule_one_time", "payload": {"delay": 5}}` on the
 * `onetime_service` channel.
 */
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('one-time');

app.action('schedule_one_time', (payload: { delay?: number }) => {
  const delay = payload.delay ?? 60; // Default 60 seconds.

  // Schedule the task. Until it runs, it is listed in `daebus:tasks`; if it
  // throws, Daebus logs the error and counts it like any task's; closing the
  // service cancels it. (A plain `setTimeout(delayedTask, delay * 1000).unref()`
  // works too, without those extras; `unref` is Python's `daemon = True`.)
  app.after(delay, () => {
    directLogger.info('One-time task executed');
  });

  return { scheduled: true, delay };
});

await app.run({ service: 'onetime_service' });
