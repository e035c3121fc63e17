import type { TaskKind, TaskState } from './task-state.js';

/** A task as `daebus:tasks` reports it (PROTOCOL.md): snake_case, times in ISO 8601 UTC. */
export interface TaskInfo {
  name: string;
  kind: TaskKind;
  /** Seconds between runs (interval tasks), else null. */
  interval: number | null;
  /** The delay of a one-time task in seconds, else null (extension). */
  delay: number | null;
  cron: string | null;
  paused: boolean;
  running: boolean;
  runs: number;
  failures: number;
  skipped: number;
  missed: number;
  last_run_at: string | null;
  last_duration_ms: number | null;
  last_error: string | null;
  next_run_at: string | null;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The wire form of a task's state. */
export function taskInfo(state: TaskState): TaskInfo {
  const seconds = state.intervalMs / 1000;
  return {
    name: state.name,
    kind: state.kind,
    interval: state.kind === 'interval' ? seconds : null,
    delay: state.kind === 'once' ? seconds : null,
    cron: null,
    paused: state.paused,
    running: state.running,
    runs: state.runs,
    failures: state.failures,
    skipped: state.skipped,
    missed: state.missed,
    last_run_at: iso(state.lastRunAt),
    last_duration_ms: state.lastDurationMs,
    last_error: state.lastError,
    next_run_at: state.heapIndex >= 0 ? iso(state.due) : null,
  };
}
