import { expect } from 'vitest';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient } from '../harness/wire-client.js';

/** The shutdown timeout the examples run with (the default `shutdownTimeout`). */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/** One example running as a child process against its own redis-server, and a wire client. */
export interface RunningExample {
  readonly service: string;
  readonly redis: RedisServer;
  readonly child: ChildService;
  readonly client: WireClient;
  /** Log records whose message matches. */
  logged(message: string | RegExp): number;
  /** Stops the child (if still running), the client and the server. */
  close(): Promise<void>;
}

/** Starts `examples/<file>` against a private redis-server and waits until it serves. */
export async function startExample(file: string, service: string): Promise<RunningExample> {
  const redis = await startRedisServer();
  const child = startChild(`examples/${file}`, { REDIS_URL: redis.url });
  try {
    await child.waitForLog(
      (record) => record.msg === `service "${service}" running on ${redis.url}`,
      `that ${service} is running`,
      20_000,
    );
  } catch (err) {
    await child.stop('SIGKILL').catch(() => undefined);
    await redis.stop();
    throw err;
  }
  const client = await WireClient.connect('redis', redis.url);
  return {
    service,
    redis,
    child,
    client,
    logged: (message) =>
      child.logs.filter((record) =>
        typeof message === 'string' ? record.msg === message : message.test(record.msg ?? ''),
      ).length,
    async close() {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        await child.stop('SIGKILL').catch(() => undefined);
      }
      await client.close();
      await redis.stop();
    },
  };
}

/** The fields PROTOCOL.md requires of each task in `daebus:tasks`. */
const TASK_FIELDS = [
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

export type WireTask = Record<(typeof TASK_FIELDS)[number], unknown> & {
  name: string;
  runs: number;
  failures: number;
};

/** The service's tasks, as `daebus:tasks` lists them. */
export async function listTasks(example: RunningExample): Promise<WireTask[]> {
  const reply = await example.client.ok<{ service: string; tasks: WireTask[] }>(
    example.service,
    'daebus:tasks',
  );
  expect(reply.service).toBe(example.service);
  return reply.tasks;
}

/** One task from `daebus:tasks`. */
export async function getTask(example: RunningExample, name: string): Promise<WireTask> {
  const task = (await listTasks(example)).find((t) => t.name === name);
  if (task === undefined) throw new Error(`${example.service} lists no task "${name}"`);
  return task;
}

/** Checks that `daebus:tasks` lists exactly `expected` (name → interval) with every protocol field. */
export async function expectTasks(
  example: RunningExample,
  expected: Record<string, number>,
): Promise<void> {
  const tasks = await listTasks(example);
  expect(tasks.map((t) => t.name).sort()).toEqual(Object.keys(expected).sort());
  for (const task of tasks) {
    for (const field of TASK_FIELDS) expect(task, `${task.name}.${field}`).toHaveProperty(field);
    expect(task).toMatchObject({
      kind: 'interval',
      interval: expected[task.name],
      cron: null,
      paused: false,
      running: false,
      failures: 0,
      skipped: 0,
      missed: 0,
    });
    expect(Date.parse(task.next_run_at as string)).toBeGreaterThan(Date.now());
  }
}

/** Checks `daebus:ping`. */
export async function expectPing(example: RunningExample): Promise<void> {
  const ping = await example.client.ok(example.service, 'daebus:ping');
  expect(ping).toMatchObject({
    service: example.service,
    pid: example.child.process.pid,
    instance: expect.any(String),
    host: expect.any(String),
    version: expect.any(String),
    uptime_s: expect.any(Number),
  });
}

/** Checks that an unknown action gets a final error reply with code UNKNOWN_ACTION. */
export async function expectUnknownAction(example: RunningExample): Promise<void> {
  const reply = await example.client.call(example.service, 'no_such_action', {});
  expect(reply.status).toBe('error');
  expect(reply.final ?? true).toBe(true);
  expect(reply.payload).toMatchObject({ code: 'UNKNOWN_ACTION', error: expect.any(String) });
}

/** Triggers a task over the wire (`daebus:task` op `trigger`). */
export async function trigger(example: RunningExample, name: string): Promise<void> {
  await example.client.ok(example.service, 'daebus:task', { name, op: 'trigger' });
}

/** Sends SIGTERM and checks the example exits 0 within its shutdown timeout. */
export async function expectCleanExit(example: RunningExample): Promise<void> {
  const started = Date.now();
  const code = await example.child.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 5_000);
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  expect(example.logged(`service "${example.service}" closed`)).toBe(1);
}
