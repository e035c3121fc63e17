/** The wire form of a task (`task.toJSON()`, PROTOCOL.md "daebus:tasks"). */
import { describe, expect, it, vi } from 'vitest';
import { TASK_FIELDS } from '../../harness/wire-fields.js';
import {
  deferred,
  iso,
  newApp,
  requestOverMemory,
  runApp,
  T0,
  useSchedulerHarness,
} from './helpers.js';

useSchedulerHarness();

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('task.toJSON()', () => {
  it('has every PROTOCOL.md field, snake_case, before the service starts', () => {
    const app = newApp();
    const json = app.background('health_check', 60, () => undefined).toJSON();
    for (const field of TASK_FIELDS) expect(json).toHaveProperty(field);
    for (const key of Object.keys(json)) expect(key).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(json).toMatchObject({
      name: 'health_check',
      kind: 'interval',
      interval: 60,
      cron: null,
      paused: false,
      running: false,
      runs: 0,
      failures: 0,
      skipped: 0,
      missed: 0,
      last_run_at: null,
      last_duration_ms: null,
      last_error: null,
      next_run_at: null,
    });
  });

  it('reports runs, failures, times and the next run exactly', async () => {
    const app = newApp();
    let n = 0;
    const task = app.background('report', 2.5, async () => {
      n++;
      await new Promise((resolve) => setTimeout(resolve, 120));
      if (n === 2) throw new Error('second run failed');
    });
    await runApp(app);
    await vi.advanceTimersByTimeAsync(5_200); // runs at 2.5 s (ok) and 5 s (fails at 5.12 s)
    const json = task.toJSON();
    expect(json).toMatchObject({
      name: 'report',
      kind: 'interval',
      interval: 2.5,
      cron: null,
      paused: false,
      running: false,
      runs: 2,
      failures: 1,
      skipped: 0,
      missed: 0,
      last_run_at: iso(T0 + 5_000),
      last_duration_ms: 120,
      last_error: 'second run failed',
      next_run_at: iso(T0 + 7_500),
    });
    expect(json.last_run_at).toMatch(ISO_UTC);
    expect(json.next_run_at).toMatch(ISO_UTC);
    // It is plain JSON: what a Python peer receives is exactly this.
    expect(JSON.parse(JSON.stringify(task))).toEqual(json);
  });

  it('shows running, paused, skipped, missed and a changed interval', async () => {
    const app = newApp();
    const gate = deferred();
    const task = app.background('state', 1, () => gate.promise);
    await runApp(app);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(task.toJSON()).toMatchObject({ running: true, skipped: 1, runs: 0 });
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    task.pause();
    expect(task.toJSON()).toMatchObject({ running: false, paused: true, next_run_at: null });
    task.resume();
    task.interval = 0.5; // grid 2 s + k × 0.5 s; next at 2.5 s
    expect(task.toJSON()).toMatchObject({
      paused: false,
      interval: 0.5,
      next_run_at: iso(T0 + 2_500),
    });
    vi.setSystemTime(T0 + 10_000); // suspended from 2 s to 10 s; wakes at 10.5 s
    await vi.advanceTimersByTimeAsync(1_000);
    // Slot 2.5 s ran late at 10.5 s; 3 s … 10.5 s (16 slots) were missed; 11 s ran on time.
    expect(task.toJSON()).toMatchObject({
      runs: 3,
      missed: 16,
      last_run_at: iso(T0 + 11_000),
      next_run_at: iso(T0 + 11_500),
    });
  });

  it('daebus:tasks answers with the same objects', async () => {
    const app = newApp();
    const a = app.background('alpha', 5, () => undefined);
    const b = app.background('beta', 0.5, () => undefined);
    const service = await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    const reply = (await requestOverMemory(service, 'daebus:tasks', {})) as {
      status: string;
      payload: { service: string; instance: string; tasks: unknown[] };
    };
    expect(reply.status).toBe('success');
    expect(reply.payload.service).toBe(service);
    expect(reply.payload.instance).toBe(app.instance);
    expect(reply.payload.tasks).toEqual([a.toJSON(), b.toJSON()]);
    expect(reply.payload.tasks[1]).toMatchObject({ name: 'beta', runs: 2 });
  });
});
