import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildService, type LogRecord, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';

/** How long Redis stays down: the scenario of the issue. */
const OUTAGE_MS = 2_000;
/** The caller's request timeout (see the fixture). */
const TIMEOUT_MS = 1_000;

interface Tally {
  ok: number;
  failed: Record<string, number>;
  slowestFailureMs: number;
}

interface Stats {
  status: string;
  ticks: number;
  broadcasts: Tally;
  replies: Tally;
  resources: string[];
  heap_used: number;
}

/** How many resources of each kind (`Timeout`, `TCPSocketWrap`…) a list holds. */
function countByKind(resources: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of resources) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('a Redis outage under load (kill -9, back on the same port after 2 s)', () => {
  let server: RedisServer;
  let service: ChildService;
  let caller: ChildService;
  let client: WireClient;
  let killedAt = 0;
  let backAt = 0;
  let statsBefore: Stats;

  beforeAll(async () => {
    server = await startRedisServer();
    service = startChild('test/integration/fixtures/outage-service.ts', { REDIS_URL: server.url });
    await service.waitForLog((r) => /running on/.test(String(r.msg)), 'that it runs');
    client = await WireClient.connect('redis', server.url);
    statsBefore = await client.ok<Stats>('outage_service', 'stats');
    caller = startChild('test/integration/fixtures/outage-caller.ts', { REDIS_URL: server.url });
    await caller.waitForLog((r) => r.msg === 'load', 'its first reply');
  });

  afterAll(async () => {
    await client?.close();
    caller?.process.kill('SIGKILL');
    service?.process.kill('SIGKILL');
    await server?.stop();
  });

  it('answers again within 2 s of Redis being back, and nothing crashes, hangs or leaks', async () => {
    // Steady load for a moment first.
    await new Promise((resolve) => setTimeout(resolve, 500));
    killedAt = Date.now();
    await server.kill('SIGKILL');
    const lost = await service.waitForLog(
      (r) => r.status === 'reconnecting',
      'the lost connection',
    );
    expect(Number(lost.at) - killedAt).toBeLessThan(500);
    // The scenario's fixed outage: Redis stays down for 2 s.
    await new Promise((resolve) => setTimeout(resolve, killedAt + OUTAGE_MS - Date.now()));
    await server.restart();
    backAt = Date.now();
    // Probe as a client would: the first request the service answers after Redis is back.
    let answeredAt = 0;
    while (answeredAt === 0 && Date.now() - backAt < 5_000) {
      try {
        // (The wire client's publish must not fail: it would leave its request waiting.)
        if (client.transport.status === 'ready') {
          await client.call('outage_service', 'echo', { probe: true }, 200);
          answeredAt = Date.now();
        }
      } catch {
        // not yet
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(answeredAt, 'the service never answered after the outage').toBeGreaterThan(0);
    expect(answeredAt - backAt, 'the first answer after Redis is back').toBeLessThan(2_000);

    const back = await service.waitForLog(
      (r) => r.status === 'running' && Number(r.at) > killedAt,
      "the service's status back to running",
    );
    const recovered = await caller.waitForLog(
      (r) => r.msg === 'recovered',
      'a reply after the outage',
    );
    const recoveredAt = Number(recovered.at);
    expect(Number(back.at) - backAt, 'service reconnected and resubscribed').toBeLessThan(2_000);
    // The caller's loops may still wait out requests sent while nobody listened (TIMEOUT).
    expect(recoveredAt - backAt, "the caller's first reply after Redis is back").toBeLessThan(
      2_000 + TIMEOUT_MS,
    );
    // Load goes on for a while after the recovery.
    await new Promise((resolve) => setTimeout(resolve, 700));

    // While Redis was down: the tasks kept their schedule, and every publish
    // (broadcasts, replies of handlers in flight) failed at once with DISCONNECTED.
    // ("At once": well under the 100 ms between two runs, where a hang would take seconds.)
    const report = `while down: ${JSON.stringify(lost)}\nback: ${JSON.stringify(back)}`;
    const downFor = Number(back.at) - Number(lost.at);
    const ticksDown = Number(back.ticks) - Number(lost.ticks);
    expect(ticksDown, report).toBeGreaterThanOrEqual(Math.floor((downFor / 100) * 0.7));
    const broadcasts = back.broadcasts as Tally;
    expect(Object.keys(broadcasts.failed), report).toEqual(['DISCONNECTED']);
    expect(broadcasts.failed.DISCONNECTED, report).toBeGreaterThanOrEqual(
      Math.floor(ticksDown * 0.7),
    );
    expect(broadcasts.slowestFailureMs, report).toBeLessThan(100);
    const replies = back.replies as Tally;
    expect(Object.keys(replies.failed), report).toEqual(['DISCONNECTED']);
    expect(replies.slowestFailureMs, report).toBeLessThan(100);
    // Its status went running → reconnecting → running, once.
    const statuses = service.logs
      .filter((r) => typeof r.status === 'string' && String(r.msg).startsWith('status '))
      .map((r) => r.status);
    expect(statuses).toEqual(['starting', 'running', 'reconnecting', 'running']);

    // The caller: only DISCONNECTED or TIMEOUT, none hung past its timeout,
    // requests waiting at the loss ended at once, and everything sent after
    // the recovery succeeded.
    const done = await stopCaller();
    const outcomes = done.outcomes as Array<[number, number, string]>;
    expect(outcomes.length).toBeGreaterThan(200);
    const failures = outcomes.filter(([, , code]) => code !== 'ok');
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures.map(([, , code]) => code))).toEqual(
      new Set(
        failures.map(([, , code]) => code).filter((c) => c === 'DISCONNECTED' || c === 'TIMEOUT'),
      ),
    );
    expect(failures.some(([, , code]) => code === 'DISCONNECTED')).toBe(true);
    for (const [sent, ended, code] of failures) {
      expect(ended - sent, `${code} after ${ended - sent} ms`).toBeLessThan(TIMEOUT_MS + 300);
      expect(sent, 'a failure sent before the outage').toBeGreaterThanOrEqual(
        killedAt - TIMEOUT_MS,
      );
      // Waiting when the connection was lost: ended at once, not by the timeout.
      if (sent < killedAt) expect(code).toBe('DISCONNECTED');
      if (code === 'DISCONNECTED') {
        expect(ended - Math.max(sent, killedAt), 'a DISCONNECTED that took its time').toBeLessThan(
          300,
        );
      }
    }
    const afterRecovery = outcomes.filter(([sent]) => sent > recoveredAt);
    expect(afterRecovery.length).toBeGreaterThan(50);
    expect(afterRecovery.filter(([, , code]) => code !== 'ok')).toEqual([]);
    expect(done.pending).toBe(0);
    expect(countByKind(done.after as string[])).toEqual(countByKind(done.before as string[]));

    // The service: same status, timers and sockets as before the outage, heap not grown much.
    await waitFor(() => client.transport.status === 'ready', 'the test client to reconnect', 5_000);
    const statsAfter = await client.ok<Stats>('outage_service', 'stats');
    expect(statsAfter.status).toBe('running');
    expect(countByKind(statsAfter.resources)).toEqual(countByKind(statsBefore.resources));
    expect(statsAfter.heap_used - statsBefore.heap_used).toBeLessThan(32 * 1024 * 1024);

    // No process crashed: both end cleanly when asked.
    expect(await service.stop('SIGTERM'), service.output()).toBe(0);
    for (const child of [service, caller]) {
      expect(child.output()).not.toMatch(/Unhandled|uncaught|FATAL/i);
    }
  });

  async function stopCaller(): Promise<LogRecord> {
    const exited = new Promise<number | null>((resolve) =>
      caller.process.once('exit', (code) => resolve(code)),
    );
    caller.process.kill('SIGTERM');
    const done = await caller.waitForLog((r) => r.msg === 'done', 'its report', 5_000);
    expect(await exited, caller.output()).toBe(0);
    return done;
  }
});
