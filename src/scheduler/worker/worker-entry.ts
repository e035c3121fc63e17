/**
 * The first code a worker task's thread runs: it loads the user's module,
 * calls its default export with a run object like a task's own (a signal that
 * aborts when the service closes, a logger bound to the task), and reports
 * how the run ended. The logger's lines go to the service, which writes them
 * with its own logger (its level, format and destination). Internal: not
 * part of the public API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { WorkerAbort, WorkerLog, WorkerResult, WorkerStart } from './worker-protocol.js';

const start = workerData as WorkerStart;
const port = parentPort!;
const controller = new AbortController();
port.on('message', (message: WorkerAbort) => {
  if (message.type === 'abort') controller.abort(new Error(message.reason));
});

function report(result: WorkerResult): void {
  port.postMessage(result);
  port.close();
}

try {
  const loaded = (await import(start.module)) as { default?: unknown };
  const fn = loaded.default;
  if (typeof fn !== 'function') {
    throw new TypeError(
      `worker module ${start.module} must export a task function as its default export`,
    );
  }
  const logger = pino(
    { level: start.logLevel, base: null, timestamp: false },
    {
      write(line: string) {
        const message: WorkerLog = { type: 'log', line };
        port.postMessage(message);
      },
    },
  );
  await fn({
    signal: controller.signal,
    logger,
    task: { name: start.task },
    runId: start.runId,
    scheduledAt: start.scheduledAt,
    attempt: start.attempt,
  });
  report({ type: 'done' });
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  report({ type: 'error', name: error.name, message: error.message, stack: error.stack });
}
