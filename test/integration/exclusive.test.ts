/**
 * Exclusive runs across replicas, with real processes against one
 * redis-server: three replicas of examples/exclusive.ts, started at different
 * moments, run each one-second tick once between them; a replica killed in
 * the middle of a run blocks nothing; a failed run is retried by the replica
 * that ran it. The cases run side by side.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Daebus, type TaskInfo, type TasksReply } from '../../src/index.js';
import { type ChildService, type LogRecord, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import { captureLogger, delay } from './support.js';

/** One replica: its process and the instance id it logged at start. */
interface Replica {
  readonly child: ChildService;
  readonly instance: string;
}

const EXAMPLE = 'exclusive_service';
const SLOW = 'exclusive_slow';
const WINDOW_MS = 10_000;

let server: RedisServer;
let client: WireClient;
let redis: Redis;
const examples: Replica[] = [];
const slows: Replica[] = [];

async function startReplica(file: string, service: string, afterMs: number): Promise<Replica> {
  await delay(afterMs);
  const child = startChild(file, { REDIS_URL: server.url });
  const running = await child.waitForLog(
    (r) => r.msg === `service "${service}" running on ${server.url}`,
    `that a replica of ${service} runs`,
    20_000,
  );
  return { child, instance: running.instance as string };
}

beforeAll(async () => {
  server = await startRedisServer();
  client = await WireClient.connect('redis', server.url);
  redis = client.transport.client!;
  // The example's replicas start 0, 300 and 700 ms apart; they must still agree on one grid.
  const [a, b, c, ...slow] = await Promise.all([
    startReplica('examples/exclusive.ts', EXAMPLE, 0),
    startReplica('examples/exclusive.ts', EXAMPLE, 300),
    startReplica('examples/exclusive.ts', EXAMPLE, 700),
    ...[0, 1, 2].map(() => startReplica('test/integration/fixtures/exclusive-slow.ts', SLOW, 0)),
  ]);
  examples.push(a!, b!, c!);
  slows.push(...slow);
}, 40_000);

afterAll(async () => {
  for (const { child } of [...examples, ...slows]) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      await child.stop('SIGKILL').catch(() => undefined);
    }
  }
  await client?.close();
  await server?.stop();
});

/** The `tick` task as one replica reports it, asked on its own instance channel. */
async function tickOf(replica: Replica): Promise<TaskInfo> {
  const { final } = await client.exchange(`${EXAMPLE}@${replica.instance}`, {
    action: 'daebus:tasks',
    payload: {},
    service: EXAMPLE,
  });
  const reply = final.payload as TasksReply;
  if (final.status !== 'success' || reply.instance !== replica.instance) {
    throw new Error(`unexpected daebus:tasks reply: ${JSON.stringify(final)}`);
  }
  return reply.tasks.find((task) => task.name === 'tick')!;
}

/** The shared counter and every replica's `tick`, read together. */
async function snapshot(): Promise<{ ticks: number; tasks: TaskInfo[] }> {
  const [ticks, ...tasks] = await Promise.all([
    redis.get('exclusive_service:ticks'),
    ...examples.map(tickOf),
  ]);
  return { ticks: Number(ticks ?? 0), tasks: tasks as TaskInfo[] };
}

/** Waits until the middle of a second, far from the ticks at whole seconds. */
function midSecond(): Promise<void> {
  return delay((1_500 - (Date.now() % 1_000)) % 1_000);
}

function slotsLogged(replicas: Replica[], msg: string, after: number): number[] {
  return replicas
    .flatMap(({ child }) => child.logs)
    .filter((r: LogRecord) => r.msg === msg && (r.slot as number) > after)
    .map((r) => r.slot as number)
    .sort((x, y) => x - y);
}

describe('exclusive: true across three replica processes', () => {
  it.concurrent('runs 10 ticks in 10 s between the three, not 30', async ({ expect }) => {
    await midSecond();
    const before = await snapshot();
    await delay(WINDOW_MS - (Date.now() % 1_000) + 500);
    const after = await snapshot();

    const ticks = after.ticks - before.ticks;
    expect(ticks).toBeGreaterThanOrEqual(WINDOW_MS / 1_000 - 1);
    expect(ticks).toBeLessThanOrEqual(WINDOW_MS / 1_000 + 1);
    const runs = after.tasks.map((task, i) => task.runs - before.tasks[i]!.runs);
    const elsewhere = after.tasks.map((task, i) => task.elsewhere - before.tasks[i]!.elsewhere);
    // Every run was one increment, and every replica saw every tick: it ran it, or another did.
    expect(runs.reduce((sum, n) => sum + n, 0)).toBe(ticks);
    for (const [i, task] of after.tasks.entries()) {
      expect(task).toMatchObject({ exclusive: true, failures: 0, skipped: 0 });
      expect(
        runs[i]! + elsewhere[i]!,
        `replica ${i}: runs ${runs[i]}, elsewhere ${elsewhere[i]}`,
      ).toBeGreaterThanOrEqual(ticks - 1);
      expect(runs[i]! + elsewhere[i]!).toBeLessThanOrEqual(ticks + 1);
    }
    expect(elsewhere.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(2 * ticks - 2);

    // The claims are Redis keys that expire on their own.
    const claims = await redis.keys('daebus:lock:exclusive_service:tick:*');
    for (const key of claims) {
      const ttl = await redis.pttl(key);
      expect(ttl === -2 || (ttl > 0 && ttl <= 1_000), `${key} expires, PTTL ${ttl}`).toBe(true);
    }
    for (const { child } of examples) {
      expect(child.logs.filter((r) => (r.level ?? 0) >= 50)).toEqual([]);
    }
  });

  it.concurrent('a replica killed with SIGKILL mid-run blocks nothing: the others keep ticking', async ({
    expect,
  }) => {
    // The first run that starts from now on, in whichever replica claimed it.
    const seen = slows.map(({ child }) => child.logs.length);
    let victim: Replica | undefined;
    let slot = 0;
    await waitFor(
      () => {
        for (const [i, replica] of slows.entries()) {
          const started = replica.child.logs
            .slice(seen[i])
            .find((r) => r.msg === 'slow tick started');
          if (started !== undefined) {
            victim = replica;
            slot = started.slot as number;
            return true;
          }
        }
        return false;
      },
      'a slow tick to start',
      5_000,
    );
    expect(await victim!.child.stop('SIGKILL')).toBe('SIGKILL');
    const survivors = slows.filter((replica) => replica !== victim);
    // It died mid-run, holding its claim: the key is still there, with most of its 30 s left.
    expect(victim!.child.logs.some((r) => r.msg === 'slow tick done' && r.slot === slot)).toBe(
      false,
    );
    const claim = `daebus:lock:exclusive_slow:slow_tick:${slot}`;
    expect(await redis.get(claim)).toBe(victim!.instance);
    expect(await redis.pttl(claim)).toBeGreaterThan(20_000);

    // The next three ticks each run once, in the survivors; the dead replica's tick is not re-run.
    await waitFor(
      () => slotsLogged(survivors, 'slow tick done', slot).includes(slot + 3_000),
      'the survivors to finish three more ticks',
      8_000,
    );
    expect(slotsLogged(survivors, 'slow tick started', slot - 1).slice(0, 3)).toEqual([
      slot + 1_000,
      slot + 2_000,
      slot + 3_000,
    ]);
    for (const { child } of survivors) {
      expect(child.logs.filter((r) => (r.level ?? 0) >= 50)).toEqual([]);
    }
  });

  it.concurrent('a failed run is retried by the replica that claimed it, and by no other', async ({
    expect,
  }) => {
    const runs: string[] = [];
    const replicas = ['a', 'b'].map((id) => {
      const app = new Daebus('retry', { handleSignals: false, logger: captureLogger().logger });
      app.background(
        'flaky',
        3600,
        ({ attempt }) => {
          runs.push(`${id}:${attempt}`);
          if (attempt === 0) throw new Error('the first attempt fails');
        },
        { exclusive: true, immediate: true, retry: { attempts: 1, backoff: 0.1 } },
      );
      return app;
    });
    try {
      await Promise.all(
        replicas.map((app, i) =>
          app.run({ service: 'exclusive_retry', redis: server.url, instance: `replica-${i}` }),
        ),
      );
      await waitFor(() => runs.length === 2, 'the first attempt and its retry');
      const winner = runs[0]!.slice(0, 1);
      expect(runs).toEqual([`${winner}:0`, `${winner}:1`]);
      const [ran, other] = winner === 'a' ? replicas : replicas.toReversed();
      expect(ran!.backgroundTasks.flaky!.stats).toMatchObject({
        runs: 2,
        failures: 1,
        consecutiveFailures: 0,
        elsewhere: 0,
      });
      expect(other!.backgroundTasks.flaky!.stats).toMatchObject({ runs: 0, elsewhere: 1 });
    } finally {
      await Promise.all(replicas.map((app) => app.close()));
    }
  });
});
