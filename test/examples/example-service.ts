import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { TASK_FIELDS, type TaskField } from '../harness/wire-fields.js';

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

/** A task as `daebus:tasks` lists it: every PROTOCOL.md field. */
export type WireTask = Record<TaskField, unknown> & {
  name: string;
  runs: number;
  failures: number;
};

/** What {@link describeExample} needs to know about one example. */
export interface ExampleSpec {
  /** The file under examples/. */
  readonly file: string;
  /** The service name it runs as. */
  readonly service: string;
  /** The tasks `daebus:tasks` lists once it runs: name → interval in seconds. */
  readonly tasks: Record<string, number>;
  /** How the first test's title tells of those tasks; by default "lists <name> every <n> s". */
  readonly tasksTitle?: string;
  /** The title of the SIGTERM test; by default "exits 0 on SIGTERM". */
  readonly exitTitle?: string;
}

/**
 * `describe('examples/<file>')` over one run of the example, with the checks
 * every example shares around the tests `body` registers: first `daebus:ping`
 * and the task list, then `body`'s own tests in order, then an unknown action
 * and a clean exit on SIGTERM. The `example` given to `body` starts in a
 * `beforeAll`: use it inside tests and hooks only.
 */
export function describeExample(spec: ExampleSpec, body: (example: RunningExample) => void): void {
  describe(`examples/${spec.file}`, () => {
    let running: RunningExample | undefined;
    beforeAll(async () => {
      running = await startExample(spec.file, spec.service);
    });
    afterAll(() => running?.close());

    const example = lateBound(spec.service, () => {
      if (running === undefined) throw new Error(`${spec.file} is not running (yet)`);
      return running;
    });
    const listed = Object.entries(spec.tasks).map(([name, s]) => `${name} every ${s} s`);
    const tasks = spec.tasksTitle ?? `lists ${listed.join(' and ') || 'no task'}`;

    it(`answers daebus:ping and ${tasks}`, async () => {
      await expectPing(example);
      await expectTasks(example, spec.tasks);
    });

    body(example);

    it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

    it(spec.exitTitle ?? 'exits 0 on SIGTERM', () => expectCleanExit(example));
  });
}

/** A {@link RunningExample} that reads, on each use, the one `current` returns. */
function lateBound(service: string, current: () => RunningExample): RunningExample {
  return {
    service,
    get redis() {
      return current().redis;
    },
    get child() {
      return current().child;
    },
    get client() {
      return current().client;
    },
    logged: (message) => current().logged(message),
    close: () => current().close(),
  };
}

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
async function expectTasks(
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
async function expectPing(example: RunningExample): Promise<void> {
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
async function expectUnknownAction(example: RunningExample): Promise<void> {
  const reply = await example.client.call(example.service, 'no_such_action', {});
  expect(reply.status).toBe('error');
  expect(reply.final ?? true).toBe(true);
  expect(reply.payload).toMatchObject({ code: 'UNKNOWN_ACTION', error: expect.any(String) });
}

/** Triggers a task over the wire (`daebus:task` op `trigger`). */
export async function trigger(example: RunningExample, name: string): Promise<void> {
  await example.client.ok(example.service, 'daebus:task', { name, op: 'trigger' });
}

/** Triggers `name` and waits for a log record whose message is `message`; `what` names it in a timeout. */
export async function triggerUntilLogged(
  example: RunningExample,
  name: string,
  message: string,
  what: string,
): Promise<void> {
  await trigger(example, name);
  await example.child.waitForLog((r) => r.msg === message, what);
}

/** Triggers `name` and returns the one message it broadcasts on `channel`; `what` names it in a timeout. */
export async function triggerBroadcast<T = unknown>(
  example: RunningExample,
  name: string,
  channel: string,
  what: string,
): Promise<T> {
  const collected = await example.client.collect(channel);
  try {
    await trigger(example, name);
    await waitFor(() => collected.messages.length === 1, what);
  } finally {
    await collected.stop();
  }
  return collected.messages[0] as T;
}

/** Sends SIGTERM and checks the example exits 0 within its shutdown timeout. */
async function expectCleanExit(example: RunningExample): Promise<void> {
  const started = Date.now();
  const code = await example.child.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 5_000);
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  expect(example.logged(`service "${example.service}" closed`)).toBe(1);
}
