import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildService, type LogRecord, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, type WireReply } from '../harness/wire-client.js';
import { prng } from './fuzz-messages.js';
import { waitForExit } from './support.js';

const FIXTURE = 'test/integration/fixtures/shutdown-service.ts';
const IN_FLIGHT = 500;
const SHUTDOWN_TIMEOUT_S = 5;

let server: RedisServer;
let client: WireClient;
const children: ChildService[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  client = await WireClient.connect('redis', server.url);
});

afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await client?.close();
  await server?.stop();
});

async function startService(service: string, env: Record<string, string>): Promise<ChildService> {
  const child = startChild(FIXTURE, { REDIS_URL: server.url, SERVICE: service, ...env });
  children.push(child);
  await child.waitForLog((r) => r.msg?.includes('running on') === true, 'that it runs');
  return child;
}

const indexOf = (logs: LogRecord[], msg: string) => logs.findIndex((r) => r.msg === msg);

describe('SIGTERM under load', () => {
  it(`answers all ${IN_FLIGHT} requests in flight, refuses new ones with SHUTTING_DOWN, lets the running task finish, and exits 0 within shutdownTimeout`, async () => {
    const service = 'shutdown_graceful';
    const child = await startService(service, {
      HOLD_UNTIL: String(IN_FLIGHT),
      TASK_MS: '1500',
      SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
    });
    const exited = waitForExit(child.process, 20_000, child.output);
    const triggered = await client.call(service, 'daebus:task', {
      name: 'long_task',
      op: 'trigger',
    });
    expect(triggered.status).toBe('success');
    await child.waitForLog((r) => r.msg === 'long task started', 'the task run');

    // 500 slow requests (300-800 ms each once all are in), the requests in flight at the signal.
    const random = prng(0x51e7);
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) =>
      client.call(service, 'slow', { i, ms: 300 + Math.floor(random() * 500) }, 15_000),
    );
    await child.waitForLog(
      (r) => r.msg === 'requests in flight',
      `${IN_FLIGHT} requests in flight`,
    );
    const signalledAt = Date.now();
    child.process.kill('SIGTERM');
    await child.waitForLog((r) => r.msg?.startsWith('received SIGTERM') === true, 'the signal');

    // After the signal: refused at once, on the service and the instance channel, with or
    // without reply_to.
    const responses = await client.collect(`${service}.responses`);
    const tasks = (await client.ok(service, 'daebus:tasks').catch((err: Error) => err)) as Error;
    expect(tasks.message).toMatch(/SHUTTING_DOWN|shutting down/);
    const late = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.call(service, 'slow', { i: 1000 + i, ms: 10 }, 5_000),
      ),
    );
    for (const reply of late) {
      expect(reply).toMatchObject({ status: 'error', final: true });
      expect((reply.payload as { code: string }).code).toBe('SHUTTING_DOWN');
    }
    await client.publishRaw(
      service,
      JSON.stringify({ action: 'slow', payload: { i: 2000, ms: 10 }, request_id: 'no-reply-to' }),
    );
    const instance = (await child.waitForLog((r) => typeof r.instance === 'string', 'an instance'))
      .instance as string;
    const viaInstance = await client.call(`${service}@${instance}`, 'slow', { i: 3000, ms: 10 });
    expect((viaInstance.payload as { code: string }).code).toBe('SHUTTING_DOWN');

    // Every request in flight is answered.
    const replies: WireReply[] = await Promise.all(inFlight);
    replies.forEach((reply, i) => {
      expect(reply).toMatchObject({ status: 'success', payload: { i }, final: true });
    });

    const code = await exited;
    const elapsed = Date.now() - signalledAt;
    expect(code, child.output()).toBe(0);
    expect(elapsed).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);

    await responses.stop();
    expect(responses.messages).toContainEqual(
      expect.objectContaining({
        status: 'error',
        request_id: 'no-reply-to',
        payload: expect.objectContaining({ code: 'SHUTTING_DOWN' }),
      }),
    );
    // The task got its grace period: it finished (its signal aborted) before the service closed.
    const logs = child.logs;
    const taskDone = logs.find((r) => r.msg === 'long task finished');
    expect(taskDone).toMatchObject({ aborted: true });
    expect(indexOf(logs, 'long task finished')).toBeLessThan(
      indexOf(logs, `service "${service}" closed`),
    );
    // No handler started after the signal; none was abandoned.
    expect(logs.find((r) => r.msg === 'slow handlers')).toMatchObject({
      started: IN_FLIGHT,
      in_flight: 0,
    });
    expect(logs.filter((r) => (r.level ?? 0) >= 40)).toEqual([]);
  });
});

describe('a second signal while closing', () => {
  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['SIGTERM', 'SIGINT'],
  ] as const)('%s then %s exits at once with status 1 and says so', async (first, second) => {
    const service = `shutdown_forced_${first}_${second}`.toLowerCase();
    const child = await startService(service, { HOLD_UNTIL: '20', SHUTDOWN_TIMEOUT: '30' });
    const exited = waitForExit(child.process, 10_000, child.output);
    const pending = Array.from({ length: 20 }, (_, i) =>
      client.call(service, 'slow', { i, ms: 20_000 }, 1_500).catch(() => null),
    );
    await child.waitForLog((r) => r.msg === 'requests in flight', 'the requests in flight');
    child.process.kill(first);
    await child.waitForLog((r) => r.msg?.startsWith(`received ${first}`) === true, 'the signal');
    const secondAt = Date.now();
    child.process.kill(second);

    const code = await exited;
    expect(code).toBe(1);
    expect(Date.now() - secondAt).toBeLessThan(1_000);
    const forced = child.logs.find(
      (r) => r.msg === `received ${second} again: exiting now without waiting`,
    );
    expect(forced).toMatchObject({ level: 40, signal: second });
    expect(child.logs.map((r) => r.msg)).not.toContain(`service "${service}" closed`);
    await Promise.all(pending);
  });
});
