/**
 * Dynamic Intervals: a cleanup task whose interval an action changes while
 * the service runs.
 *
 *   npx tsx examples/adaptive-cleanup.ts    (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Then send `{"action": "adjust_schedule", "payload": {"interval": 600}}` on
 * the `adaptive_service` channel.
 */
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('adaptive-cleanup');

// Start with hourly.
app.background('adaptive_cleanup', 3600, ({ task }) => {
  // Task implementation...
  directLogger.info(`Adaptive cleanup ran; next run in ${task.interval} s`);
});

app.action('adjust_schedule', (payload: { interval?: number }, { response }) => {
  // Get the requested interval from the payload.
  const newInterval = payload.interval ?? 3600;

  const cleanupTask = app.backgroundTasks.adaptive_cleanup;
  if (cleanupTask === undefined) {
    return response.error('Task not found', { code: 'TASK_NOT_FOUND' });
  }
  // Takes effect at once: the next run comes `newInterval` seconds after the
  // previous scheduled one (or right away if that moment has passed). A bad
  // value (0, -5, "soon") throws a RangeError, which the caller receives as
  // an error reply.
  cleanupTask.interval = newInterval;
  return { updated: true, new_interval: newInterval };
});

await app.run({ service: 'adaptive_service' });
