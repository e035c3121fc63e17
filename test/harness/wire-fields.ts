/**
 * Field lists from PROTOCOL.md, written once for every test that checks the
 * wire form against the protocol (examples, integration and unit tests alike).
 */

/** The fields PROTOCOL.md requires of each task in `daebus:tasks` ("Reserved names"). */
export const TASK_FIELDS = [
  'name',
  'kind',
  'interval',
  'cron',
  'paused',
  'running',
  'runs',
  'failures',
  'skipped',
  'missed',
  'last_run_at',
  'last_duration_ms',
  'last_error',
  'next_run_at',
] as const;

/** One of {@link TASK_FIELDS}. */
export type TaskField = (typeof TASK_FIELDS)[number];

/** The fields of each run in a task's history (`daebus:task` op `history`), and no others. */
export const RUN_FIELDS = [
  'run_id',
  'scheduled_at',
  'started_at',
  'duration_ms',
  'outcome',
  'error',
  'attempt',
] as const;
