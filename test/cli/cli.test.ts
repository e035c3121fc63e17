import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/index.js';
import { type ChildService, startChild } from '../harness/child-service.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient, waitFor } from '../harness/wire-client.js';
import {
  type CliResult,
  ensureBuilt,
  failed,
  jsonLines,
  ok,
  runCli,
  startCli,
  untilRunning,
} from './support.js';

/**
 * Each `daebus` command, run as the real binary (`node bin/daebus.js`)
 * against two replicas of a fixture service (instances `alpha` and `beta`),
 * each its own child process, on a private redis-server.
 */

const SERVICE = 'cli_fixture';
const FIXTURE = 'test/cli/fixtures/cli-service.ts';
let redis: RedisServer;
let client: WireClient;
const replicas: Record<'alpha' | 'beta', ChildService> = {} as never;

beforeAll(async () => {
  const [server] = await Promise.all([startRedisServer(), ensureBuilt()]);
  redis = server;
  for (const instance of ['alpha', 'beta'] as const) {
    replicas[instance] = startChild(FIXTURE, { REDIS_URL: redis.url, INSTANCE: instance });
  }
  await Promise.all(
    Object.values(replicas).map((child) => untilRunning(child, SERVICE, redis.url)),
  );
  client = await WireClient.connect('redis', redis.url);
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all(
    Object.values(replicas).map((child) => child?.stop('SIGTERM').catch((err: Error) => err)),
  );
  await client?.close();
  await redis?.stop();
  // A replica that would not close cleanly is a failure too.
  expect(codes).toEqual([0, 0]);
});

/** Runs the binary against the test's Redis. */
function daebus(...args: string[]): Promise<CliResult> {
  return runCli([...args, '--redis', redis.url]);
}

/** The rows of a table the command printed: header first, cells split on runs of 2+ spaces. */
function tableRows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}

function pidOf(instance: 'alpha' | 'beta'): number {
  return replicas[instance].process.pid!;
}

describe('daebus call', () => {
  it('prints the result of an action', async () => {
    const out = ok(await daebus('call', SERVICE, 'echo', '{"key": "a", "n": [1, 2]}'));
    const result = JSON.parse(out) as { echo: unknown; instance: string };
    expect(result.echo).toEqual({ key: 'a', n: [1, 2] });
    expect(['alpha', 'beta']).toContain(result.instance);
    // Pretty-printed for people.
    expect(out).toContain('\n  "echo": {\n');
  });

  it('reaches one instance with service@instance, and sends {} with no JSON argument', async () => {
    for (const instance of ['alpha', 'beta'] as const) {
      const out = ok(await daebus('call', `${SERVICE}@${instance}`, 'echo'));
      expect(JSON.parse(out)).toEqual({ echo: {}, instance });
    }
  });

  it('prints each progress message, then the result', async () => {
    const out = ok(await daebus('call', `${SERVICE}@alpha`, 'count_to', '{"n": 3}'));
    const lines = out.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'progress: {"step":1}',
      'progress: {"step":2}',
      'progress: {"step":3}',
    ]);
    expect(JSON.parse(lines.slice(3).join('\n'))).toEqual({ counted: 3 });
  });

  it('prints one JSON document per line with --json', async () => {
    const out = ok(await daebus('call', `${SERVICE}@beta`, 'count_to', '{"n": 2}', '--json'));
    expect(jsonLines(out)).toEqual([
      { progress: { step: 1 } },
      { progress: { step: 2 } },
      { result: { counted: 2 } },
    ]);
  });

  it('uses REDIS_URL when there is no --redis', async () => {
    const result = await runCli(['call', `${SERVICE}@alpha`, 'echo', '{}', '--json'], {
      REDIS_URL: redis.url,
    });
    expect(jsonLines(ok(result))).toEqual([{ result: { echo: {}, instance: 'alpha' } }]);
  });

  it('fails with exit 1 and the error on one line when the action fails or does not exist', async () => {
    const error = failed(await daebus('call', `${SERVICE}@alpha`, 'fail'));
    expect(error).toBe(`daebus call: ${SERVICE}@alpha.fail failed: the fixture failed on purpose`);
    const unknown = failed(await daebus('call', `${SERVICE}@beta`, 'no_such_action'));
    expect(unknown).toMatch(/^daebus call: .*unknown action "no_such_action"/);
  });

  it('gives up after --timeout seconds', async () => {
    const slow = await daebus('call', `${SERVICE}@alpha`, 'slow', '--timeout', '0.3');
    expect(failed(slow)).toBe(`daebus call: ${SERVICE}@alpha.slow got no reply within 0.3 s`);
    expect(slow.ms).toBeLessThan(2_500); // the action takes 3 s
    const nobody = await daebus('call', 'nobody_home', 'echo', '--timeout=0.2');
    expect(failed(nobody)).toMatch(
      /nobody_home\.echo got no reply within 0\.2 s \(nobody was subscribed/,
    );
  });
});

describe('daebus services', () => {
  it('lists the live instances in a table', async () => {
    const rows = tableRows(ok(await daebus('services')));
    expect(rows[0]).toEqual([
      'SERVICE',
      'INSTANCE',
      'HOST',
      'PID',
      'UPTIME',
      'VERSION',
      'LAST SEEN',
    ]);
    expect(rows).toHaveLength(3);
    for (const [i, instance] of (['alpha', 'beta'] as const).entries()) {
      const row = rows[i + 1]!;
      expect(row[0]).toBe(SERVICE);
      expect(row[1]).toBe(instance);
      expect(row[3]).toBe(String(pidOf(instance)));
      expect(row[4]).toMatch(/^\d+(\.\d)?(ms|s|m)$/);
      expect(row[5]).toBe(VERSION);
      expect(row[6]).toMatch(/ago$|^in /);
    }
  });

  it('prints the heartbeats as JSON with --json', async () => {
    const [doc, ...more] = jsonLines(ok(await daebus('services', '--json')));
    expect(more).toEqual([]);
    const instances = (doc as { instances: Array<Record<string, unknown>> }).instances;
    expect(instances.map((i) => [i.service, i.instance, i.pid])).toEqual([
      [SERVICE, 'alpha', pidOf('alpha')],
      [SERVICE, 'beta', pidOf('beta')],
    ]);
    for (const instance of instances) {
      expect(instance).toMatchObject({ version: VERSION, interval: 1 });
      expect(typeof instance.host).toBe('string');
      expect(Date.parse(String(instance.started_at))).not.toBeNaN();
      expect(Date.parse(String(instance.ts))).not.toBeNaN();
    }
  });
});

interface TasksDoc {
  service: string;
  instance: string;
  tasks: Array<Record<string, unknown> & { name: string }>;
}

async function tasksJson(target = SERVICE): Promise<Record<string, TasksDoc>> {
  const docs = jsonLines(ok(await daebus('tasks', target, '--json'))) as unknown as TasksDoc[];
  return Object.fromEntries(docs.map((doc) => [doc.instance, doc]));
}

function reportTask(doc: TasksDoc | undefined): Record<string, unknown> {
  const task = doc?.tasks.find((t) => t.name === 'report');
  expect(task, JSON.stringify(doc)).toBeDefined();
  return task!;
}

describe('daebus tasks and daebus task', () => {
  it('lists the tasks of every instance in a table', async () => {
    const rows = tableRows(ok(await daebus('tasks', SERVICE)));
    expect(rows[0]).toEqual([
      'INSTANCE',
      'TASK',
      'SCHEDULE',
      'STATE',
      'RUNS',
      'FAILURES',
      'SKIPPED',
      'LAST RUN',
      'LAST DURATION',
      'NEXT RUN',
    ]);
    const body = rows.slice(1).sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(body.map((row) => row.slice(0, 7))).toEqual([
      ['alpha', 'report', 'every 30s', 'scheduled', '0', '0', '0'],
      ['beta', 'report', 'every 30s', 'scheduled', '0', '0', '0'],
    ]);
    for (const row of body) {
      expect(row.slice(7, 9)).toEqual(['-', '-']);
      expect(row[9]).toMatch(/^in \d/);
    }
  });

  it('prints one JSON document per instance with --json, and one with service@instance', async () => {
    const all = await tasksJson();
    expect(Object.keys(all).sort()).toEqual(['alpha', 'beta']);
    expect(reportTask(all.alpha)).toMatchObject({
      kind: 'interval',
      interval: 30,
      cron: null,
      paused: false,
      running: false,
    });
    const one = await tasksJson(`${SERVICE}@beta`);
    expect(Object.keys(one)).toEqual(['beta']);
    expect(one.beta!.service).toBe(SERVICE);
  });

  it('pauses, resumes, triggers and reschedules a task on every instance or on one', async () => {
    // pause: every instance
    const paused = ok(await daebus('task', SERVICE, 'report', 'pause'));
    expect(paused.trimEnd().split('\n').sort()).toEqual([
      'alpha: report paused: every 30s, paused, next run -',
      'beta: report paused: every 30s, paused, next run -',
    ]);
    let state = await tasksJson();
    expect([reportTask(state.alpha).paused, reportTask(state.beta).paused]).toEqual([true, true]);

    // resume: one instance
    const resumed = ok(await daebus('task', `${SERVICE}@alpha`, 'report', 'resume'));
    expect(resumed).toMatch(/^alpha: report resumed: every 30s, scheduled, next run in \d/);
    expect(resumed.trimEnd().split('\n')).toHaveLength(1);
    state = await tasksJson();
    expect([reportTask(state.alpha).paused, reportTask(state.beta).paused]).toEqual([false, true]);

    // trigger: runs now, on that instance only
    const ranBefore = (child: ChildService) =>
      child.logs.filter((r) => r.msg === 'report ran').length;
    const betaRuns = ranBefore(replicas.beta);
    const triggered = ok(await daebus('task', `${SERVICE}@alpha`, 'report', 'trigger'));
    expect(triggered).toMatch(/^alpha: report triggered: /);
    await replicas.alpha.waitForLog((r) => r.msg === 'report ran', 'the triggered run');
    state = await tasksJson();
    expect(reportTask(state.alpha).runs).toBe(1);
    expect(reportTask(state.beta).runs).toBe(0);
    expect(ranBefore(replicas.beta)).toBe(betaRuns);

    // interval: every instance, --json
    const docs = jsonLines(ok(await daebus('task', SERVICE, 'report', 'interval', '45', '--json')));
    expect(docs.map((d) => d.instance).sort()).toEqual(['alpha', 'beta']);
    for (const doc of docs) {
      expect(doc).toMatchObject({
        service: SERVICE,
        op: 'interval',
        task: { name: 'report', interval: 45 },
      });
    }
    state = await tasksJson();
    expect([reportTask(state.alpha).interval, reportTask(state.beta).interval]).toEqual([45, 45]);

    // back to where it started, for the other tests
    ok(await daebus('task', `${SERVICE}@beta`, 'report', 'resume'));
  });

  it('fails with exit 1 when the task or the value is wrong', async () => {
    const missing = failed(await daebus('task', SERVICE, 'no_such_task', 'pause'));
    expect(missing).toMatch(/^daebus task: /);
    expect(missing).toContain('alpha: ');
    expect(missing).toContain('beta: ');
    expect(missing).toContain('has no task "no_such_task"');
    const bad = failed(await daebus('task', `${SERVICE}@alpha`, 'report', 'interval', 'soon'));
    expect(bad).toMatch(/^daebus task: alpha: .*interval/);
  });
});

describe('daebus ping', () => {
  it('pings every instance and prints a table', async () => {
    const rows = tableRows(ok(await daebus('ping', SERVICE)));
    expect(rows[0]).toEqual(['INSTANCE', 'HOST', 'PID', 'VERSION', 'UPTIME', 'RTT']);
    const body = rows.slice(1).sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(body.map((row) => [row[0], row[2], row[3]])).toEqual([
      ['alpha', String(pidOf('alpha')), VERSION],
      ['beta', String(pidOf('beta')), VERSION],
    ]);
    for (const row of body) expect(row[5]).toMatch(/^\d+\.\dms$/);
  });

  it('prints one JSON line per instance, or one for service@instance', async () => {
    const all = jsonLines(ok(await daebus('ping', SERVICE, '--json')));
    expect(all.map((r) => [r.instance, r.pid]).sort()).toEqual([
      ['alpha', pidOf('alpha')],
      ['beta', pidOf('beta')],
    ]);
    for (const reply of all) {
      expect(reply).toMatchObject({ service: SERVICE, version: VERSION, transport: 'redis' });
      expect(typeof reply.rtt_ms).toBe('number');
      expect(typeof reply.uptime_s).toBe('number');
    }
    const one = jsonLines(ok(await daebus('ping', `${SERVICE}@beta`, '--json')));
    expect(one.map((r) => r.instance)).toEqual(['beta']);
  });

  it('fails with exit 1 when nothing answers', async () => {
    const result = await daebus('ping', 'nobody_home', '--timeout', '0.2');
    expect(failed(result)).toMatch(/^daebus ping: nobody_home: .*no reply within 0\.2 s/);
  });
});

describe('daebus send', () => {
  it('publishes a message that the listeners of every instance receive', async () => {
    const out = ok(await daebus('send', 'cli_news', '{"type": "hello", "n": 1}'));
    expect(out).toBe('sent to 2 subscribers of "cli_news"\n');
    await Promise.all(
      Object.values(replicas).map((child) =>
        child.waitForLog(
          (r) => r.msg === 'news received' && (r.news as { type?: string }).type === 'hello',
          'the broadcast',
        ),
      ),
    );
    const json = jsonLines(ok(await daebus('send', 'nobody_listens', '{"a": 1}', '--json')));
    expect(json).toEqual([{ channel: 'nobody_listens', receivers: 0 }]);
  });
});

describe('daebus listen', () => {
  it('prints each message with its channel and time until SIGINT, then exits 0', async () => {
    const listen = startCli(['listen', 'cli_news', 'cli_other', '--redis', redis.url]);
    try {
      await listen.waitFor('stderr', /listening on cli_news, cli_other/);
      await client.publishRaw('cli_news', '{"type": "first"}');
      await client.publishRaw('cli_other', 'plain text');
      await listen.waitFor('stdout', /plain text\n/);
      const lines = listen.stdout().trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      const [first, second] = lines.map((line) => line.split(' '));
      expect(first![0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(first!.slice(1)).toEqual(['cli_news', '{"type":"first"}']);
      expect(second!.slice(1).join(' ')).toBe('cli_other plain text');
    } finally {
      const end = await listen.stop('SIGINT');
      expect(end.code, end.stderr).toBe(0);
    }
  });

  it('prints JSON lines with --json, and exits 0 on SIGTERM', async () => {
    const [, before] = (await client.transport.client!.pubsub('NUMSUB', 'cli_json')) as [
      string,
      number,
    ];
    const listen = startCli(['listen', 'cli_json', '--json', '--redis', redis.url]);
    try {
      await waitFor(async () => {
        const [, count] = (await client.transport.client!.pubsub('NUMSUB', 'cli_json')) as [
          string,
          number,
        ];
        return Number(count) > Number(before);
      }, 'daebus listen to subscribe');
      await client.publishRaw('cli_json', '{"n": 1}');
      await client.publishRaw('cli_json', '{"n": 2}');
      await listen.waitFor('stdout', /"n":2/);
      const docs = jsonLines(listen.stdout());
      expect(docs.map((d) => [d.channel, d.message])).toEqual([
        ['cli_json', { n: 1 }],
        ['cli_json', { n: 2 }],
      ]);
      expect(Date.parse(String(docs[0]!.time))).not.toBeNaN();
    } finally {
      const end = await listen.stop('SIGTERM');
      expect(end.code, end.stderr).toBe(0);
      expect(end.stderr).toBe('');
    }
  });
});
