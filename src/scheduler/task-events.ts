/**
 * What the app emits about task runs: `app.on('task:error', (event) => ...)`.
 * Events are built only when someone listens, so they cost nothing otherwise.
 */
export interface TaskEvent {
  /** The task's name. */
  task: string;
  /** The run's number within its task (0 for a skip or miss, which is no run). */
  runId: number;
  /** The slot the run was for; null for a trigger. */
  scheduledAt: Date | null;
  /** When the run started; null for a skip or miss. */
  startedAt: Date | null;
  /** How long the run took so far (or in all, when it has ended). */
  durationMs: number | null;
  /** The error of `task:error` and `task:timeout`. */
  error?: Error;
  /** 0 for a scheduled run, 1 and up for retries. */
  attempt: number;
  /** For `task:miss`: how many scheduled runs were missed. */
  missed?: number;
}

/** The names of task events and when each is emitted. */
export interface TaskEventMap {
  /** A run started. */
  'task:start': [TaskEvent];
  /** A run ended well. */
  'task:success': [TaskEvent];
  /** A run threw, rejected or timed out. */
  'task:error': [TaskEvent];
  /** A run came due while earlier runs were still going, and was skipped. */
  'task:skip': [TaskEvent];
  /** Scheduled runs passed while the process could not run them. */
  'task:miss': [TaskEvent];
  /** A run reached its timeout; its signal aborted. */
  'task:timeout': [TaskEvent];
  /** A run outlived `stuckAfter`; the overlap rule no longer waits for it. */
  'task:stuck': [TaskEvent];
}

/** The name of a task event. */
export type TaskEventName = keyof TaskEventMap;

/** How the scheduler reports events to the app. */
export interface TaskEventSink {
  /** True when `event` has listeners (so that a run builds no event nobody reads). */
  wants(event: TaskEventName): boolean;
  emit(event: TaskEventName, payload: TaskEvent): void;
}
