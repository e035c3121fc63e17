/**
 * The `daebus:task` operations of the scheduler's new features, over the
 * wire on the in-memory transport: `history`, `cron` (with a time zone),
 * `timezone`, and BAD_REQUEST for bad values. Fake timers make every run
 * time exact; requests travel as raw protocol JSON (test/harness/wire-client.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Daebus, type TaskReply, type TasksReply } from '../../src/index.js';
import { WireClient, type WireReply } from '../harness/wire-client.js';
import { captureLogger } from './support.js';

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

let app: Daebus;
let client: WireClient;
let service: string;
let counter = 0;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  counter++;
  service = `task_ops_${counter}_${process.pid}`;
  app = new Daebus('task-ops', {
    logger: captureLogger().logger,
    handleSignals: false,
    heartbeatInterval: 2_000_000,
  });
  client = await WireClient.connect('memory');
});

afterEach(async () => {
  await app.close();
  await client.close();
  vi.useRealTimers();
});

async function start(): Promise<void> {
  await app.run({ service, transport: 'memory' });
}

/** Calls `daebus:task` and expects success. */
function taskOp(payload: Record<string, unknown>): Promise<TaskReply> {
  return client.ok<TaskReply>(service, 'daebus:task', payload);
}

/** Calls `daebus:task` and expects a final error reply; returns its payload. */
async function taskOpError(
  payload: Record<string, unknown>,
): Promise<{ error: string; code: string }> {
  const reply: WireReply = await client.call(service, 'daebus:task', payload);
  expect(reply.status).toBe('error');
  expect(reply.final).toBe(true);
  return reply.payload as { error: string; code: string };
}

describe('op history', () => {
  it('returns the task and its latest runs, oldest first, bounded by the history option', async () => {
    let n = 0;
    app.background(
      'flaky',
      5,
      async () => {
        n++;
        await new Promise((resolve) => setTimeout(resolve, 10 * n));
        if (n % 2 === 0) throw new Error(`run ${n} failed`);
      },
      { history: 3 },
    );
    await start();
    expect((await taskOp({ name: 'flaky', op: 'history' })).history).toEqual([]);
    await vi.advanceTimersByTimeAsync(20_100);
    const reply = await taskOp({ name: 'flaky', op: 'history' });
    expect(reply).toMatchObject({
      service,
      instance: app.instance,
      op: 'history',
      task: { name: 'flaky', runs: 4, failures: 2, consecutive_failures: 1 },
    });
    expect(reply.history).toEqual([
      {
        run_id: 2,
        scheduled_at: iso(T0 + 10_000),
        started_at: iso(T0 + 10_000),
        duration_ms: 20,
        outcome: 'error',
        error: 'run 2 failed',
        attempt: 0,
      },
      {
        run_id: 3,
        scheduled_at: iso(T0 + 15_000),
        started_at: iso(T0 + 15_000),
        duration_ms: 30,
        outcome: 'success',
        error: null,
        attempt: 0,
      },
      {
        run_id: 4,
        scheduled_at: iso(T0 + 20_000),
        started_at: iso(T0 + 20_000),
        duration_ms: 40,
        outcome: 'error',
        error: 'run 4 failed',
        attempt: 0,
      },
    ]);
    // Other ops carry no history.
    expect(await taskOp({ name: 'flaky', op: 'pause' })).not.toHaveProperty('history');
  });

  it('answers a Python-style request whose fields are at the top level', async () => {
    app.background('ticker', 1, () => undefined);
    await start();
    await vi.advanceTimersByTimeAsync(2_000);
    const exchange = await client.exchange(service, {
      action: 'daebus:task',
      name: 'ticker',
      op: 'history',
    });
    expect(exchange.final.status).toBe('success');
    const reply = exchange.final.payload as TaskReply;
    expect(reply.history!.map((r) => r.run_id)).toEqual([1, 2]);
  });

  it('reaches one instance on its own channel', async () => {
    app.background('ticker', 1, () => undefined);
    await start();
    await vi.advanceTimersByTimeAsync(1_000);
    const reply = await client.ok<TaskReply>(`${service}@${app.instance}`, 'daebus:task', {
      name: 'ticker',
      op: 'history',
    });
    expect(reply.instance).toBe(app.instance);
    expect(reply.history).toHaveLength(1);
  });
});

describe('op cron', () => {
  it('turns an interval task into a cron task in a time zone, and it runs then', async () => {
    const runs: string[] = [];
    app.background('report', 3600, () => void runs.push(iso(Date.now())));
    await start();
    const reply = await taskOp({
      name: 'report',
      op: 'cron',
      value: '0 0 9 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(reply.op).toBe('cron');
    expect(reply.task).toMatchObject({
      name: 'report',
      kind: 'cron',
      interval: null,
      cron: '0 0 9 * * *',
      timezone: 'Europe/Berlin',
      next_run_at: '2030-01-01T08:00:00.000Z', // 09:00 CET
    });
    vi.advanceTimersByTime(9 * 3_600_000);
    expect(runs).toEqual(['2030-01-01T08:00:00.000Z']);
    const listed = await client.ok<TasksReply>(service, 'daebus:tasks');
    expect(listed.tasks[0]).toMatchObject({ kind: 'cron', timezone: 'Europe/Berlin', runs: 1 });
  });

  it('without a timezone keeps the current one; with timezone null uses the machine zone', async () => {
    app.background('report', { cron: '0 0 9 * * *', timezone: 'Asia/Kolkata' }, () => undefined);
    await start();
    const kept = await taskOp({ name: 'report', op: 'cron', value: '0 30 9 * * *' });
    expect(kept.task).toMatchObject({
      cron: '0 30 9 * * *',
      timezone: 'Asia/Kolkata',
      next_run_at: '2030-01-01T04:00:00.000Z', // 09:30 IST
    });
    const cleared = await taskOp({
      name: 'report',
      op: 'cron',
      value: '0 30 9 * * *',
      timezone: null,
    });
    expect(cleared.task).toMatchObject({ cron: '0 30 9 * * *', timezone: null });
  });
});

describe('op timezone', () => {
  it('moves a cron task to another zone, keeping its expression', async () => {
    app.background('report', { cron: '0 0 9 * * *', timezone: 'Europe/Berlin' }, () => undefined);
    await start();
    const reply = await taskOp({ name: 'report', op: 'timezone', value: 'America/New_York' });
    expect(reply.op).toBe('timezone');
    expect(reply.task).toMatchObject({
      cron: '0 0 9 * * *',
      timezone: 'America/New_York',
      next_run_at: '2030-01-01T14:00:00.000Z', // 09:00 EST
    });
    expect(app.backgroundTasks.report!.timezone).toBe('America/New_York');
  });

  it('op interval turns a cron task back into an interval task', async () => {
    app.background('report', { cron: '0 0 9 * * *', timezone: 'Europe/Berlin' }, () => undefined);
    await start();
    await vi.advanceTimersByTimeAsync(4_000);
    const reply = await taskOp({ name: 'report', op: 'interval', value: 10 });
    expect(reply.task).toMatchObject({
      kind: 'interval',
      interval: 10,
      cron: null,
      timezone: null,
      next_run_at: iso(T0 + 10_000), // no run yet: counted from start
    });
  });
});

describe('bad values are BAD_REQUEST, and change nothing', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a cron expression that does not parse', { op: 'cron', value: 'nope' }, /"nope"/],
    ['an out-of-range field', { op: 'cron', value: '0 0 24 * * *' }, /"0 0 24 \* \* \*"/],
    ['a cron value that is not a string', { op: 'cron', value: 42 }, /got 42/],
    ['a missing cron value', { op: 'cron' }, /cron expression/],
    [
      'an unknown time zone with cron',
      { op: 'cron', value: '0 0 9 * * *', timezone: 'Mars/Base' },
      /"Mars\/Base"/,
    ],
    ['an unknown time zone', { op: 'timezone', value: 'Europe/Atlantis' }, /"Europe\/Atlantis"/],
    ['a negative interval', { op: 'interval', value: -1 }, /got -1/],
    ['an interval that is not a number', { op: 'interval', value: 'soon' }, /got NaN/],
  ])('%s', async (_what, change, message) => {
    const task = app.background(
      'report',
      { cron: '0 0 9 * * *', timezone: 'Europe/Berlin' },
      () => undefined,
    );
    await start();
    const before = task.toJSON();
    const error = await taskOpError({ name: 'report', ...change });
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.error).toMatch(message);
    expect(task.toJSON()).toEqual(before);
  });

  it('a time zone for an interval task', async () => {
    app.background('ticker', 10, () => undefined);
    await start();
    const error = await taskOpError({ name: 'ticker', op: 'timezone', value: 'Europe/Berlin' });
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.error).toContain('not a cron task');
  });

  it('a cron schedule for a one-time task', async () => {
    app.after(60, () => undefined, { name: 'later' });
    await start();
    const error = await taskOpError({ name: 'later', op: 'cron', value: '* * * * * *' });
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.error).toContain('one-time');
  });

  it('an unknown op lists the ops; no name is BAD_REQUEST; an unknown task is TASK_NOT_FOUND', async () => {
    app.background('ticker', 10, () => undefined);
    await start();
    const op = await taskOpError({ name: 'ticker', op: 'explode' });
    expect(op.code).toBe('BAD_REQUEST');
    for (const name of ['pause', 'resume', 'trigger', 'interval', 'cron', 'timezone', 'history']) {
      expect(op.error).toContain(name);
    }
    expect(op.error).toContain('"explode"');
    expect((await taskOpError({ op: 'history' })).code).toBe('BAD_REQUEST');
    const missing = await taskOpError({ name: 'ghost', op: 'history' });
    expect(missing.code).toBe('TASK_NOT_FOUND');
    expect(missing.error).toContain('"ghost"');
  });
});
