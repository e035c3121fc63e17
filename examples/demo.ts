/**
 * A 15-second tour of Daebus: four services in one process, a live interval
 * change requested through an action, a one-time task, and a task that keeps
 * failing yet keeps its schedule.
 *
 *   npm run demo                                   (in-memory transport: no Redis needed)
 *   REDIS_URL=redis://127.0.0.1:6379 npm run demo  (the same, over Redis)
 *
 * The services are the seed's examples (see the other files in this folder),
 * with intervals of seconds instead of minutes so that there is something to see.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Daebus, DaebusCaller, type DaebusOptions } from '../src/index.js';

const redis = process.env.REDIS_URL;
const transport = redis === undefined ? 'memory' : 'redis';
// Readable lines even when piped. Ctrl-C closes every service gracefully.
// Each task logs with the `logger` it is given, so its lines carry its name.
const options: DaebusOptions = { logFormat: 'pretty' };
const startedAt = Date.now();

/** A narrator's line, set apart from the services' log lines. */
function say(text: string): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(4);
  process.stdout.write(`\n[demo ${seconds} s] ${text}\n`);
}

/** Waits until `seconds` after the start of the demo. */
function at(seconds: number): Promise<void> {
  return sleep(Math.max(0, startedAt + seconds * 1000 - Date.now()));
}

// monitor_service (health-check.ts): a health check, every 2 s here (60 s in the seed).
const monitor = new Daebus('demo-monitor', options);
monitor.background('health_check', 2, ({ logger }) => {
  const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  logger.info(`Health check completed: healthy (${heapMb} MB heap in use)`);
});

// adaptive_service (adaptive-cleanup.ts): a cleanup every 3 s until a request changes it.
const adaptive = new Daebus('demo-adaptive', options);
adaptive.background('adaptive_cleanup', 3, ({ task, logger }) => {
  logger.info(`Adaptive cleanup ran; next run in ${task.interval} s`);
});
adaptive.action('adjust_schedule', (payload: { interval?: number }, { response }) => {
  const newInterval = payload.interval ?? 3;
  const cleanupTask = adaptive.backgroundTasks.adaptive_cleanup;
  if (cleanupTask === undefined)
    return response.error('Task not found', { code: 'TASK_NOT_FOUND' });
  cleanupTask.interval = newInterval;
  return { updated: true, new_interval: newInterval };
});

// onetime_service (one-time.ts): runs a task once, when asked, after a delay.
const oneTime = new Daebus('demo-one-time', options);
oneTime.action('schedule_one_time', (payload: { delay?: number }) => {
  const delay = payload.delay ?? 60;
  oneTime.after(delay, ({ logger }) => logger.info('One-time task executed'));
  return { scheduled: true, delay };
});

// sync_service: a task whose upstream is down on every other run. Daebus logs
// and counts each failure, and the task keeps its 2 s schedule.
const sync = new Daebus('demo-sync', options);
sync.background('flaky_sync', 2, ({ runId, logger }) => {
  if (runId % 2 === 1) throw new Error('upstream did not answer');
  logger.info('Synchronized with upstream');
});

const services: [Daebus, string][] = [
  [monitor, 'monitor_service'],
  [adaptive, 'adaptive_service'],
  [oneTime, 'onetime_service'],
  [sync, 'sync_service'],
];

say(
  `Starting ${services.length} services on ${redis === undefined ? 'the in-memory transport (set REDIS_URL to use Redis)' : 'Redis, at REDIS_URL'}.`,
);
await Promise.all(services.map(([app, service]) => app.run({ service, transport, redis })));

const toAdaptive = new DaebusCaller('adaptive_service', { transport, redis });
const toOneTime = new DaebusCaller('onetime_service', { transport, redis });

try {
  say(
    'Services are up. Watch health_check (every 2 s), adaptive_cleanup (every 3 s) and flaky_sync (every 2 s, failing every other time).',
  );

  await at(4.5);
  say('Asking adaptive_service to run adaptive_cleanup every 1 s: adjust_schedule {"interval": 1}');
  const adjusted = await toAdaptive.request('adjust_schedule', { interval: 1 });
  say(
    `adaptive_service replied ${JSON.stringify(adjusted)}; adaptive_cleanup now runs every second.`,
  );

  await at(7.5);
  say('Asking onetime_service for a one-time task in 2 s: schedule_one_time {"delay": 2}');
  const scheduled = await toOneTime.request('schedule_one_time', { delay: 2 });
  say(`onetime_service replied ${JSON.stringify(scheduled)}.`);

  await at(13.5);
  const flaky = sync.backgroundTasks.flaky_sync!;
  const { runs, failures } = flaky.stats;
  say(
    `flaky_sync ran ${runs} times and failed ${failures} of them, yet kept its ${flaky.interval} s schedule. ` +
      `adaptive_cleanup ran ${adaptive.backgroundTasks.adaptive_cleanup!.stats.runs} times. Closing everything.`,
  );
} finally {
  await Promise.all([toAdaptive.close(), toOneTime.close()]);
  await Promise.all(services.map(([app]) => app.close()));
}
say('All services closed. Bye!');
