import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo, TaskReply, TasksReply } from '../../src/index.js';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { RUN_FIELDS } from '../harness/wire-fields.js';
import {
  type CliResult,
  ensureBuilt,
  failed,
  jsonLines,
  ok,
  runCli,
  untilRunning,
} from './support.js';

/**
 * `daebus tasks <service> <task>` (the run history) and `daebus task ...
 * cron <expr> --timezone tz`, run as the real binary against a fixture
 * service in its own child process, on a private redis-server.
 */

const SERVICE = 'cli_history';
const FIXTURE = 'test/cli/fixtures/history-service.ts';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
let redis: RedisServer;
let client: WireClient;
let service: ChildService;

beforeAll(async () => {
  const [server] = await Promise.all([startRedisServer(), ensureBuilt()]);
  redis = server;
  service = startChild(FIXTURE, { REDIS_URL: redis.url });
  await untilRunning(service, SERVICE, redis.url);
  client = await WireClient.connect('redis', redis.url);
}, 120_000);

afterAll(async () => {
  const code = await service?.stop('SIGTERM').catch((err: Error) => err);
  await client?.close();
  await redis?.stop();
  expect(code).toBe(0);
});

function daebus(...args: string[]): Promise<CliResult> {
  return runCli([...args, '--redis', redis.url]);
}

async function taskInfo(name: string): Promise<TaskInfo> {
  const reply = await client.ok<TasksReply>(SERVICE, 'daebus:tasks');
  const task = reply.tasks.find((t) => t.name === name);
  expect(task, `task ${name} in ${JSON.stringify(reply)}`).toBeDefined();
  return task!;
}

/** The wall-clock time of `iso` in `timeZone`, as HH:MM:SS. */
function localTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
}

describe('daebus tasks <service> <task>', () => {
  it('prints a summary line and the latest runs as a table', async () => {
    // Enough runs that the history (5 kept) is full and holds a failure.
    await waitFor(async () => (await taskInfo('flaky')).runs >= 7, 'seven runs of flaky', 15_000);
    const lines = ok(await daebus('tasks', SERVICE, 'flaky'))
      .trimEnd()
      .split('\n');
    expect(lines[0]).toMatch(
      /^solo flaky: every 200ms, (scheduled|running); \d+ runs, \d+ failures, next run (in \S+|now|-)$/,
    );
    const rows = lines.slice(1).map((line) => line.split(/ {2,}/));
    expect(rows[0]).toEqual([
      'RUN',
      'SCHEDULED',
      'STARTED',
      'DURATION',
      'OUTCOME',
      'ATTEMPT',
      'ERROR',
    ]);
    const body = rows.slice(1);
    expect(body).toHaveLength(5);
    const ids = body.map((row) => Number(row[0]));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
    for (const [id, scheduled, started, duration, outcome, attempt, error] of body) {
      expect(scheduled).toMatch(ISO_UTC);
      expect(started).toMatch(ISO_UTC);
      expect(Date.parse(started!)).toBeGreaterThanOrEqual(Date.parse(scheduled!));
      expect(duration).toMatch(/^\d+ms$/);
      expect(attempt).toBe('0');
      // The fixture fails on every third run.
      if (Number(id) % 3 === 0) {
        expect([outcome, error]).toEqual(['error', `flaky run ${id} failed on purpose`]);
      } else {
        expect([outcome, error]).toEqual(['success', '-']);
      }
    }
    // On the 200 ms grid: consecutive runs are whole intervals apart.
    const slots = body.map((row) => Date.parse(row[1]!));
    for (let i = 1; i < slots.length; i++) {
      const gap = slots[i]! - slots[i - 1]!;
      expect(gap % 200).toBe(0);
      expect(gap).toBeGreaterThan(0);
    }
  });

  it('prints the reply as JSON with --json', async () => {
    const docs = jsonLines(ok(await daebus('tasks', SERVICE, 'flaky', '--json')));
    expect(docs).toHaveLength(1);
    const reply = docs[0] as unknown as TaskReply;
    expect(reply).toMatchObject({
      service: SERVICE,
      instance: 'solo',
      op: 'history',
      task: { name: 'flaky', kind: 'interval', interval: 0.2 },
    });
    expect(reply.history).toHaveLength(5);
    for (const run of reply.history!) {
      expect(Object.keys(run).sort()).toEqual([...RUN_FIELDS].sort());
    }
  });

  it('says when a task has not run yet, and fails for a task that does not exist', async () => {
    const lines = ok(await daebus('tasks', SERVICE, 'report'))
      .trimEnd()
      .split('\n');
    expect(lines[0]).toMatch(/^solo report: every 1h, scheduled; 0 runs, 0 failures, next run in /);
    expect(lines.slice(1)).toEqual(['no runs yet']);
    const missing = failed(await daebus('tasks', SERVICE, 'ghost'));
    expect(missing).toMatch(/^daebus tasks: solo: .*has no task "ghost"/);
  });
});

describe('daebus task <service> <task> cron <expr> --timezone <tz>', () => {
  it('reschedules a task onto a cron expression in a time zone', async () => {
    const out = ok(
      await daebus('task', SERVICE, 'report', 'cron', '0 0 7 * * *', '--timezone', 'Europe/Berlin'),
    );
    expect(out).toMatch(/^solo: report rescheduled: cron 0 0 7 \* \* \*, scheduled, next run in /);
    const now = Date.now();
    const task = await taskInfo('report');
    expect(task).toMatchObject({
      kind: 'cron',
      interval: null,
      cron: '0 0 7 * * *',
      timezone: 'Europe/Berlin',
      paused: false,
    });
    // 07:00:00 on Berlin's clock, within the next day (25 h, for a DST day).
    expect(localTime(task.next_run_at!, 'Europe/Berlin')).toBe('07:00:00');
    const next = Date.parse(task.next_run_at!);
    expect(next).toBeGreaterThan(now - 5_000);
    expect(next - now).toBeLessThanOrEqual(25 * 3_600_000);

    // The task list shows the new schedule.
    const list = ok(await daebus('tasks', SERVICE));
    expect(list).toMatch(/solo {2,}report {2,}cron 0 0 7 \* \* \* {2,}scheduled/);
  });

  it('moves it to another zone, and changes expression and zone in one step with --json', async () => {
    const moved = ok(await daebus('task', SERVICE, 'report', 'timezone', 'America/New_York'));
    expect(moved).toMatch(/^solo: report moved to another time zone: cron 0 0 7 \* \* \*, /);
    const task = await taskInfo('report');
    expect(task.timezone).toBe('America/New_York');
    expect(localTime(task.next_run_at!, 'America/New_York')).toBe('07:00:00');

    const docs = jsonLines(
      ok(
        await daebus(
          'task',
          SERVICE,
          'report',
          'cron',
          '0 30 6 * * 1-5',
          '--timezone',
          'Asia/Kolkata',
          '--json',
        ),
      ),
    );
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      service: SERVICE,
      instance: 'solo',
      op: 'cron',
      task: { name: 'report', kind: 'cron', cron: '0 30 6 * * 1-5', timezone: 'Asia/Kolkata' },
    });
    const nextRun = (docs[0]!.task as TaskInfo).next_run_at!;
    expect(localTime(nextRun, 'Asia/Kolkata')).toBe('06:30:00');
    const weekday = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Kolkata',
      weekday: 'short',
    }).format(new Date(nextRun));
    expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(weekday);
  });

  it('fails with exit 1, saying why, for a bad expression or time zone, and changes nothing', async () => {
    const before = await taskInfo('report');
    const badCron = failed(await daebus('task', SERVICE, 'report', 'cron', 'every morning'));
    expect(badCron).toMatch(/^daebus task: solo: .*"every morning"/);
    const badZone = failed(
      await daebus('task', SERVICE, 'report', 'cron', '0 0 7 * * *', '--timezone', 'Mars/Base'),
    );
    expect(badZone).toMatch(/^daebus task: solo: .*"Mars\/Base"/);
    const badMove = failed(await daebus('task', SERVICE, 'report', 'timezone', 'Europe/Atlantis'));
    expect(badMove).toContain('"Europe/Atlantis"');
    const noValue = await daebus('task', SERVICE, 'report', 'cron');
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('cron needs an expression');
    const after = await taskInfo('report');
    const schedule = (task: TaskInfo) => [task.kind, task.cron, task.timezone, task.next_run_at];
    expect(schedule(after)).toEqual(schedule(before));
  });
});
