/**
 * `npm run bench:scheduler`: the Daebus scheduler beside a baseline of bare
 * `setTimeout` chains anchored to a fixed grid (one timer per task).
 *
 * - precision and cost: 1, 1,000 and 10,000 tasks firing every second for
 *   20 s (`--seconds N` to change), all registered at once: lateness of each
 *   fire against registration time + k × interval, drift of one task, missed
 *   fires, CPU time of the process from the first registration to the end of
 *   the run (the service's own start and stop are left out);
 * - memory: 100,000 registered tasks with a one-hour interval.
 *
 * Each measurement runs in a fresh process and prints one JSON line; a last
 * line gives the ratios (daebus over baseline).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);
const runner = fileURLToPath(new URL('./scheduler-run.ts', import.meta.url));

function measure(args: string[], gc = false): Record<string, number | string> {
  const nodeArgs = [...(gc ? ['--expose-gc'] : []), '--import', 'tsx', runner, ...args];
  const output = execFileSync(process.execPath, nodeArgs, { encoding: 'utf8' });
  const line = output.trim().split('\n').pop()!;
  console.log(line);
  return JSON.parse(line) as Record<string, number | string>;
}

const results: Record<string, Record<string, number | string>> = {};
for (const tasks of [1, 1000, 10000]) {
  for (const impl of ['baseline', 'daebus']) {
    results[`${impl}-${tasks}`] = measure(['precision', impl, String(tasks), String(seconds)]);
  }
}
for (const impl of ['baseline', 'daebus']) {
  results[`${impl}-mem`] = measure(['memory', impl, '100000'], true);
}
const ratio = (a: number | string | undefined, b: number | string | undefined) =>
  Number((Number(a) / Math.max(Number(b), 1e-9)).toFixed(3));
console.log(
  JSON.stringify({
    bench: 'sched-ratio',
    p99_late_ratio_1000: ratio(
      results['daebus-1000']!.p99_late_ms,
      results['baseline-1000']!.p99_late_ms,
    ),
    p99_late_ratio_10000: ratio(
      results['daebus-10000']!.p99_late_ms,
      results['baseline-10000']!.p99_late_ms,
    ),
    cpu_ratio_10000: ratio(results['daebus-10000']!.cpu_ms, results['baseline-10000']!.cpu_ms),
    bytes_per_task_ratio: ratio(
      results['daebus-mem']!.bytes_per_task,
      results['baseline-mem']!.bytes_per_task,
    ),
  }),
);
