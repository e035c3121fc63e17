/**
 * `npm run bench:soak -- --minutes N`: a Daebus service with 100 tasks under
 * a steady request load for N minutes (default 10). Each minute prints
 * `{"bench":"soak-minute",...}`: requests answered and errors in that
 * minute, task runs, and the service's heap and RSS after a full GC; the last
 * line is `{"bench":"soak","minutes":N,"answered":N,"errors":N,
 * "heap_growth_pct":X,"rss_growth_pct":X}`, growth measured from the
 * minute-2 sample to the last one (from minute 1 when N < 2).
 *
 * The service runs in its own process: its heap and RSS are then its own,
 * not mixed with the load generator's, and a leak on either side cannot
 * hide in the other's figures. The load comes from a DaebusCaller here:
 * `--rps` requests a second (default 200) of echo, work, streamed progress
 * and a failing action (whose HANDLER_ERROR is expected, not an error),
 * requests to the instance channel, `daebus:tasks` every 5 s and 25
 * broadcasts a second. Uses REDIS_URL when set, else starts a private
 * redis-server.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { DaebusCaller, DaebusError } from 'daebus';
import { startRedisServer } from '../test/harness/redis-server.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rps: { type: 'string', default: '200' },
    // A shorter "minute", to try the benchmark out quickly.
    'minute-seconds': { type: 'string', default: '60' },
    // Write heap snapshots of the service there at minute 2 and at the end, to find a leak.
    snapshots: { type: 'string' },
  },
});
const MINUTES = Number(values.minutes);
const RPS = Number(values.rps);
const MINUTE_MS = Number(values['minute-seconds']) * 1000;
if (!(Number.isInteger(MINUTES) && MINUTES > 0)) {
  throw new Error(`--minutes must be a positive integer, got ${values.minutes}`);
}
if (!(RPS > 0)) throw new Error(`--rps must be a positive number, got ${values.rps}`);

const SERVICE = 'soak_service';
const LISTEN = 'soak_events';
const TICK_MS = 20;

interface Stats {
  type: 'stats';
  tasks: number;
  taskRuns: number;
  taskFailures: number;
  handled: number;
  broadcasts: number;
  heap: number;
  rss: number;
}

const mb = (bytes: number) => Number((bytes / 1_048_576).toFixed(2));
const pct = (from: number, to: number) => Number((((to - from) / from) * 100).toFixed(2));

function startService(url: string): Promise<ChildProcess> {
  const file = fileURLToPath(new URL('./soak-service.js', import.meta.url));
  const child = fork(file, [url, SERVICE, LISTEN], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`soak service exited with ${code}`)));
  });
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`soak service exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply) => {
      child.off('exit', onExit);
      resolve(reply as T);
    });
    child.send(message);
  });
}

/** Counts of one minute, and of the whole run. */
const counts = { answered: 0, errors: 0 };
const totals = { answered: 0, errors: 0 };
const firstErrors: string[] = [];

function answered(): void {
  counts.answered++;
}

function failed(what: string, err: unknown): void {
  counts.errors++;
  if (firstErrors.length < 5) {
    firstErrors.push(`${what}: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
  }
}

/** Sends request number `i` and checks its answer. */
function send(caller: DaebusCaller, i: number, instance: string | null): void {
  const kind = i % 10;
  if (kind <= 4) {
    const payload = { i, text: 'x'.repeat(i % 200), nested: { list: [i, 'two', null] } };
    caller.request('echo', payload, instance === null ? {} : { instance }).then(
      (reply) => (isDeepStrictEqual(reply, payload) ? answered() : failed('echo', reply)),
      (err) => failed('echo', err),
    );
  } else if (kind <= 6) {
    caller.request('work', { n: i }).then(
      (reply) => {
        const r = reply as { n: number; double: number };
        r.n === i && r.double === i * 2 ? answered() : failed('work', reply);
      },
      (err) => failed('work', err),
    );
  } else if (kind <= 8) {
    let steps = 0;
    caller.request('stream', {}, { onProgress: () => steps++ }).then(
      (reply) =>
        steps === 3 && (reply as { steps: number }).steps === 3
          ? answered()
          : failed('stream', { steps, reply }),
      (err) => failed('stream', err),
    );
  } else {
    caller.request('fail', {}).then(
      (reply) => failed('fail (it answered)', reply),
      (err) =>
        err instanceof DaebusError && err.code === 'HANDLER_ERROR'
          ? answered()
          : failed('fail', err),
    );
  }
}

const ownServer = process.env.REDIS_URL === undefined ? await startRedisServer() : null;
const url = process.env.REDIS_URL ?? ownServer!.url;
const child = await startService(url);
const caller = new DaebusCaller(SERVICE, { redis: url, timeout: 10 });
try {
  const ping = (await caller.request('daebus:ping', {})) as { instance: string };
  const instance = ping.instance;
  const samples: Array<{ heap: number; rss: number }> = [];
  let last = await ask<Stats>(child, 'stats');
  if (last.tasks !== 100) throw new Error(`the soak service has ${last.tasks} tasks, not 100`);

  let sent = 0;
  let credit = 0;
  let ticks = 0;
  const load = setInterval(() => {
    credit += (RPS * TICK_MS) / 1000;
    for (; credit >= 1; credit--, sent++) {
      // Every tenth request (an echo) goes to the instance channel.
      send(caller, sent, sent % 5 === 0 ? instance : null);
    }
    if (++ticks % 2 === 0) {
      caller.sendMessage(LISTEN, { tick: ticks }).catch((err) => failed('broadcast', err));
    }
    if (ticks % (5000 / TICK_MS) === 0) {
      caller.request('daebus:tasks', {}).then(
        (reply) =>
          (reply as { tasks: unknown[] }).tasks.length >= 100
            ? answered()
            : failed('daebus:tasks', reply),
        (err) => failed('daebus:tasks', err),
      );
    }
  }, TICK_MS);

  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((resolve) => setTimeout(resolve, MINUTE_MS));
    const stats = await ask<Stats>(child, 'stats');
    samples.push({ heap: stats.heap, rss: stats.rss });
    console.log(
      JSON.stringify({
        bench: 'soak-minute',
        minute,
        answered: counts.answered,
        errors: counts.errors,
        task_runs: stats.taskRuns - last.taskRuns,
        task_failures: stats.taskFailures - last.taskFailures,
        broadcasts: stats.broadcasts - last.broadcasts,
        caller_pending: caller.pendingCount,
        heap_mb: mb(stats.heap),
        rss_mb: mb(stats.rss),
      }),
    );
    if (values.snapshots !== undefined && (minute === Math.min(2, MINUTES) || minute === MINUTES)) {
      const { file } = await ask<{ file: string }>(child, `snapshot ${values.snapshots}`);
      console.error(`heap snapshot of minute ${minute}: ${file}`);
    }
    totals.answered += counts.answered;
    totals.errors += counts.errors;
    counts.answered = 0;
    counts.errors = 0;
    last = stats;
  }
  clearInterval(load);
  // Requests still in flight count in the totals.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  totals.answered += counts.answered;
  totals.errors += counts.errors;

  const base = samples[Math.min(2, samples.length) - 1]!;
  const end = samples[samples.length - 1]!;
  if (firstErrors.length > 0) console.error(`first errors:\n  ${firstErrors.join('\n  ')}`);
  console.log(
    JSON.stringify({
      bench: 'soak',
      minutes: MINUTES,
      answered: totals.answered,
      errors: totals.errors,
      heap_growth_pct: pct(base.heap, end.heap),
      rss_growth_pct: pct(base.rss, end.rss),
    }),
  );
} finally {
  await caller.close();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  child.kill('SIGKILL');
  await ownServer?.stop();
}
