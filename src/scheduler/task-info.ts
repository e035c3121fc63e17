import { readCounters } from './run-records.js';
import type { OverlapPolicy } from './task-options.js';
import type { TaskKind, TaskState } from './task-state.js';

/** A task as `daebus:tasks` reports it (PROTOCOL.md): snake_case, times in ISO 8601 UTC. */
export interface TaskInfo {
  name: string;
  kind: TaskKind;
  /** Seconds between runs (interval tasks), else null. */
  interval: number | null;
  /** The delay of a one-time task in seconds, else null (extension). */
  delay: number | null;
  /** The cron expression (cron tasks), else null. */
  cron: string | null;
  /** The cron task's time zone (null: the machine's). */
  timezone: string | null;
  overlap: OverlapPolicy;
  /** Seconds a run may take, or null. */
  timeout: number | null;
  exclusive: boolean;
  worker: boolean;
  paused: boolean;
  running: boolean;
  done: boolean;
  runs: number;
  failures: number;
  consecutive_failures: number;
  skipped: number;
  missed: number;
  timeouts: number;
  stuck: number;
  /** Exclusive runs another replica took. */
  elsewhere: number;
  last_run_at: string | null;
  last_duration_ms: number | null;
  avg_duration_ms: number | null;
  max_duration_ms: number | null;
  last_error: string | null;
  next_run_at: string | null;
}

function iso(ms: number): string | null {
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The wire form of a task's state. */
export function taskInfo(state: TaskState): TaskInfo {
  const seconds = state.intervalMs / 1000;
  const { options } = state;
  const stats = readCounters(state);
  return {
    name: state.name,
    kind: state.kind,
    interval: state.kind === 'interval' ? seconds : null,
    delay: state.kind === 'once' ? seconds : null,
    cron: state.cron?.expression ?? null,
    timezone: state.cron?.timezone ?? null,
    overlap: options.overlap,
    timeout: options.timeoutMs === null ? null : options.timeoutMs / 1000,
    exclusive: options.exclusive,
    worker: options.worker !== null,
    paused: state.paused,
    running: state.running,
    done: state.done,
    runs: stats.runs,
    failures: stats.failures,
    consecutive_failures: stats.consecutiveFailures,
    skipped: stats.skipped,
    missed: stats.missed,
    timeouts: stats.timeouts,
    stuck: stats.stuck,
    elsewhere: stats.elsewhere,
    last_run_at: iso(stats.lastRunAt),
    last_duration_ms: Number.isNaN(stats.lastDurationMs) ? null : stats.lastDurationMs,
    avg_duration_ms:
      stats.runs === 0 ? null : Math.round((stats.totalDurationMs / stats.runs) * 100) / 100,
    max_duration_ms: stats.runs === 0 ? null : stats.maxDurationMs,
    last_error: stats.lastError,
    next_run_at: state.heapIndex >= 0 ? iso(state.slotDue) : null,
  };
}
