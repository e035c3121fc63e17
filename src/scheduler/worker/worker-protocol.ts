/** Messages between a worker task and the service that runs it. */

/** What the worker gets when it starts (its `workerData`). */
export interface WorkerStart {
  /** The file URL of the user's module; its default export is the task function. */
  module: string;
  task: string;
  runId: number;
  scheduledAt: number | null;
  attempt: number;
  /** The level of the service's logger: the worker's logger writes nothing below it. */
  logLevel: string;
}

/** Service to worker: the run's signal aborted (the service is closing). */
export interface WorkerAbort {
  type: 'abort';
  reason: string;
}

/** Worker to service: how the run ended. */
export type WorkerResult =
  | { type: 'done' }
  | { type: 'error'; name: string; message: string; stack: string | undefined };

/** Worker to service: one line of the run's logger (pino's JSON), for the service's logger to write. */
export interface WorkerLog {
  type: 'log';
  line: string;
}

/** Everything a worker sends. */
export type WorkerMessage = WorkerResult | WorkerLog;
