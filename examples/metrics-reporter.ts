/**
 * Thread Safety: a request counter shared by an action and a background task,
 * reported and reset every 5 minutes.
 *
 *   npx tsx examples/metrics-reporter.ts    (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 *
 * The Python seed runs each task in a thread of its own, so it guards the
 * counter with a lock. Node runs handlers and tasks on one thread, and code
 * between two `await`s is never interrupted: reading and resetting the counter
 * below cannot interleave with a handler, so no lock is needed. (Take care
 * only with state that must stay consistent across an `await`.) For the same
 * reason `logger` and `directLogger` are both safe anywhere; `logger` adds the
 * task or action name to each line.
 */
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('metrics-reporter');

// Shared state: no lock, see above.
let requestCounter = 0;

// Something to count: every `echo` request is one request served.
app.action('echo', (payload) => {
  requestCounter++;
  return { echo: payload };
});

app.background('metrics_reporter', 300, ({ task }) => {
  const currentCount = requestCounter;
  requestCounter = 0; // Optionally reset the counter.
  directLogger.info(`Processed ${currentCount} requests in the last ${task.interval} seconds`);
});

await app.run({ service: 'metrics_service' });
