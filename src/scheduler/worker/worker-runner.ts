import { Worker } from 'node:worker_threads';
import type { Level, Logger } from 'pino';
import type { TaskFunction, TaskRun } from '../task-state.js';
import type { WorkerAbort, WorkerMessage, WorkerStart } from './worker-protocol.js';

/** Run from TypeScript source (tsx, vitest) rather than from the built package. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The worker's entry file, beside this one (`.ts` when run from source, `.js` when built). */
const ENTRY = new URL(`./worker-entry${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * From source, the worker starts with this script instead: Node 20 does not
 * hand the main thread's module hooks (tsx's) to worker threads, so a `.ts`
 * entry fails there with ERR_UNKNOWN_FILE_EXTENSION; the worker then
 * registers tsx itself and loads the entry again (where the hooks are
 * inherited, the first import already works).
 */
function sourceBootstrap(): string | null {
  if (!FROM_SOURCE) return null;
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    return null;
  }
  const entry = JSON.stringify(ENTRY.href);
  return `import(${entry}).catch(async (err) => {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  (await import(${JSON.stringify(tsx)})).register();
  return import(${entry} + '?tsx');
});`;
}
const BOOTSTRAP = sourceBootstrap();

/** An error that crossed from the worker thread as its parts, whole again. */
function reviveError(name: string | undefined, message: string, stack: string | undefined): Error {
  const error = new Error(message);
  if (name !== undefined) error.name = name;
  if (stack !== undefined) error.stack = stack;
  return error;
}

/** Writes one of a worker's log lines with the task's logger, marked `worker: true`. */
function writeWorkerLine(logger: Logger, line: string): void {
  let parsed: { level?: number; msg?: string; [field: string]: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    logger.warn({ worker: true, line }, 'a worker wrote a log line that is not JSON');
    return;
  }
  const { level, msg, ...fields } = parsed;
  // An error crossed the thread as pino's plain { type, message, stack }: an Error again, so that
  // the service's logger serializes it as its own.
  const err = fields.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') {
    fields.err = reviveError(err.type, err.message, err.stack);
  }
  // The level's name is the method that writes it (pino's own table, custom levels included).
  const write = logger[logger.levels.labels[level ?? 30] as Level] ?? logger.info;
  write.call(logger, { ...fields, worker: true }, msg ?? '');
}

/**
 * Terminates the threads left in `workers` when the service closes: those of
 * runs still going after the grace period, and any that outlived their run.
 */
export async function terminateWorkers(workers: Set<Worker>): Promise<void> {
  await Promise.all([...workers].map((worker) => worker.terminate()));
  workers.clear();
}

/**
 * A task function that runs `module`'s default export in a new worker
 * thread, one per run. The run ends when the worker reports how its function
 * ended, not when the thread has exited: a thread's exit waits for the
 * process's helper threads to finish their queued work, and with
 * `lowerHelperThreads` those run at the lowest priority, so on a busy
 * machine the exit can follow seconds later. When the run's signal aborts
 * because of its timeout, the worker is terminated at once and the run ends
 * when the thread is gone; when the service closes, the worker's own signal
 * aborts and it gets the grace period to finish. Worker threads are kept in
 * `workers` (one set per scheduler) until they exit, so that closing an app
 * ends its own workers only.
 */
export function workerTaskFunction(module: URL, workers: Set<Worker>): TaskFunction {
  return (run: TaskRun) =>
    new Promise<void>((resolve, reject) => {
      const start: WorkerStart = {
        module: module.href,
        task: run.task.name,
        runId: run.runId,
        scheduledAt: run.scheduledAt,
        attempt: run.attempt,
        logLevel: run.logger.level,
      };
      const worker =
        BOOTSTRAP === null
          ? new Worker(ENTRY, { workerData: start })
          : new Worker(BOOTSTRAP, { eval: true, workerData: start });
      workers.add(worker);
      const onAbort = () => {
        const reason = run.signal.reason as { code?: string; message?: string } | undefined;
        if (reason?.code === 'TIMEOUT') {
          void worker.terminate();
          return;
        }
        const message: WorkerAbort = { type: 'abort', reason: reason?.message ?? 'aborted' };
        worker.postMessage(message);
      };
      // The promise keeps the first outcome (a result, an error, the exit); later ones change nothing.
      const succeed = () => {
        run.signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const fail = (error: unknown) => {
        run.signal.removeEventListener('abort', onAbort);
        reject(error);
      };
      run.signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'log') writeWorkerLine(run.logger, message.line);
        else if (message.type === 'done') succeed();
        else fail(reviveError(message.name, message.message, message.stack));
      });
      worker.once('error', fail);
      worker.once('exit', (code) => {
        workers.delete(worker);
        fail(
          run.signal.aborted
            ? run.signal.reason
            : new Error(
                `worker of task "${run.task.name}" exited with code ${code} before finishing`,
              ),
        );
      });
    });
}
