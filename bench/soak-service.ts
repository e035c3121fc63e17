/**
 * The service side of the soak benchmark, run as its own process with
 * --expose-gc: 100 tasks of several kinds (interval and cron, sync and
 * async, some failing now and then, one-time tasks started and cancelled)
 * and actions that echo, work, stream progress and fail. Answers `stats`
 * over IPC after a full GC, so that the heap figures are what stays alive,
 * and `snapshot <dir>` by writing a heap snapshot there.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Daebus } from 'daebus';

const [url, service, listenChannel] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const app = new Daebus('soak', { logLevel: 'warn', handleSignals: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let broadcasts = 0;
let handled = 0;

// 100 tasks.
for (let i = 0; i < 40; i++) {
  // Sync work, every 1 to 5 s.
  app.background(`sync_${i}`, 1 + (i % 5), () => {
    let sum = 0;
    for (let k = 0; k < 1_000; k++) sum += k * i;
    return sum;
  });
}
for (let i = 0; i < 25; i++) {
  // Async work with a timeout and, for some, jitter, every 0.5 to 3 s.
  app.background(
    `async_${i}`,
    0.5 + (i % 6) * 0.5,
    async ({ signal }) => {
      await sleep(1 + (i % 20));
      if (signal.aborted) return;
    },
    { timeout: 2, ...(i % 2 === 0 ? { jitter: 0.1 } : {}) },
  );
}
for (let i = 0; i < 15; i++) {
  // Cron tasks, with seconds.
  app.background(`cron_${i}`, { cron: `*/${1 + (i % 5)} * * * * *` }, () => undefined);
}
for (let i = 0; i < 10; i++) {
  // Fail every 4th run; some retry once.
  let runs = 0;
  app.background(
    `flaky_${i}`,
    1 + (i % 3),
    () => {
      if (++runs % 4 === 0) throw new Error(`flaky_${i} failed on purpose (run ${runs})`);
    },
    i % 2 === 0 ? { retry: { attempts: 1, backoff: 0.1 } } : {},
  );
}
for (let i = 0; i < 9; i++) {
  // Overlapping slow runs: skipped or queued.
  app.background(`slow_${i}`, 1, () => sleep(1_500), {
    overlap: i % 2 === 0 ? 'skip' : 'queue',
  });
}
// The 100th: starts one-time tasks, half of them cancelled before they run.
let onceRuns = 0;
app.background('spawner', 1, () => {
  const kept = app.after(0.2, () => {
    onceRuns++;
  });
  const cancelled = app.after(5, () => undefined);
  cancelled.cancel();
  return kept.name;
});

app.action('echo', (payload: unknown) => {
  handled++;
  return payload;
});
app.action('work', async (payload: { n: number }) => {
  handled++;
  await sleep(payload.n % 5);
  return { n: payload.n, double: payload.n * 2 };
});
app.action('stream', async (_payload: unknown, { response }) => {
  handled++;
  for (let step = 1; step <= 3; step++) await response.send({ step }, { final: false });
  return { steps: 3 };
});
app.action('fail', () => {
  handled++;
  throw new Error('failed on purpose');
});
app.listen(listenChannel!, () => {
  broadcasts++;
});

await app.run({ service: service!, redis: url });

process.on('message', (message: string) => {
  if (message === 'stats') {
    let taskRuns = onceRuns;
    let taskFailures = 0;
    for (const task of Object.values(app.backgroundTasks)) {
      taskRuns += task.stats.runs;
      taskFailures += task.stats.failures;
    }
    gc();
    const { heapUsed, rss } = process.memoryUsage();
    process.send!({
      type: 'stats',
      tasks: Object.keys(app.backgroundTasks).length,
      taskRuns,
      taskFailures,
      handled,
      broadcasts,
      heap: heapUsed,
      rss,
    });
  } else if (message.startsWith('snapshot ')) {
    gc();
    const file = writeHeapSnapshot(
      join(message.slice('snapshot '.length), `soak-${Date.now()}.heapsnapshot`),
    );
    process.send!({ type: 'snapshot', file });
  } else if (message === 'stop') {
    void app.close().then(() => process.disconnect());
  }
});
process.send!({ type: 'ready' });
