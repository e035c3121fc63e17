/**
 * `npm run bench:scheduler`: the Daebus scheduler beside a baseline of bare
 * `setTimeout` chains anchored to a fixed grid (one timer per task).
 *
 * - precision and cost: 1, 1,000 and 10,000 tasks firing every second for
 *   20 s (`--seconds N` to change), all registered at once: lateness of each
 *   fire against registration time + k × interval, drift of one task, missed
 *   fires, CPU time of the process from the first registration to the end of
 *   the run (the service's own start and stop are left out);
 * - memory: 100,000 registered tasks with a one-hour interval: the growth of
 *   the heap and of array buffers (where numbers can be kept outside the
 *   heap) per task, and the time to register them.
 *
 * `--tasks 1000,10000` runs the precision measurements for those sizes only;
 * `--lower-helpers` measures Daebus with `lowerHelperThreads: true` (the
 * default leaves the helper threads alone).
 *
 * Each measurement runs in a fresh process, as compiled JavaScript under
 * plain `node`, as a deployed service runs: a TypeScript loader in the
 * measured process would add a thread of its own and several megabytes of
 * heap, whose collections cost the baseline (which allocates a timer per
 * fire) far more than Daebus. This program runs compiled too
 * (`bench/tsconfig.json` compiles every benchmark into `dist-bench/bench/`,
 * see the `build:bench` script): a TypeScript loader here would keep a
 * compiler service process waking some twenty times a second beside every
 * measurement, on a machine with two cores.
 *
 * The precision runs are repeated (`--repeat N`, 5 by default), alternating
 * baseline and Daebus, and each JSON line gives the median of each figure
 * over the repetitions (the worst for missed fires, maximum lateness and
 * drift). The CPU time of one 20-second run varies by a quarter from run to
 * run, for both alike, with the moments the garbage collector and the
 * compiler pick, and one run in a few has a round that a burst of compiling
 * or collecting delays: five runs keep two such runs from deciding a median.
 * A last line gives the ratios (daebus over baseline). Each run's own
 * figures go to stderr as they come, to show how far the runs spread, with
 * its CPU time split by phase (see `scheduler-run.ts`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    repeat: { type: 'string', default: '5' },
    tasks: { type: 'string', default: '1,1000,10000' },
    'lower-helpers': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const repeat = Math.max(1, Math.floor(Number(values.repeat)));
const sizes = values.tasks.split(',').map(Number);
/** What each precision run is told beyond its size and length. */
const precisionOptions = values['lower-helpers'] ? ['lower-helpers'] : [];
/** The measurement program, compiled beside this one. */
const runner = fileURLToPath(new URL('./scheduler-run.js', import.meta.url));

type Measurement = Record<string, number | string>;

/** Runs one measurement in a fresh process and returns its JSON line. */
function measure(args: string[], gc = false): Measurement {
  const nodeArgs = [...(gc ? ['--expose-gc'] : []), runner, ...args];
  const output = execFileSync(process.execPath, nodeArgs, { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as Measurement;
}

/** Figures reported as the worst over the runs, not the median: a missed fire in any run counts. */
const WORST = new Set(['missed', 'max_late_ms', 'drift_ms']);

/** The median of each figure over the runs (the worst, for those in WORST). */
function medianOf(runs: Measurement[]): Measurement {
  const merged: Measurement = { ...runs[0]! };
  for (const [key, value] of Object.entries(merged)) {
    if (typeof value !== 'number' || key === 'tasks') continue;
    const figures = runs.map((run) => Number(run[key]));
    if (WORST.has(key)) {
      merged[key] = figures.reduce((worst, x) => (Math.abs(x) > Math.abs(worst) ? x : worst));
      continue;
    }
    const sorted = figures.sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    merged[key] =
      sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }
  return merged;
}

const results: Record<string, Measurement> = {};
for (const tasks of sizes) {
  const runs: Record<string, Measurement[]> = { baseline: [], daebus: [] };
  for (let i = 0; i < repeat; i++) {
    for (const impl of ['baseline', 'daebus']) {
      const run = measure(['precision', impl, String(tasks), String(seconds), ...precisionOptions]);
      runs[impl]!.push(run);
      console.error(
        `# ${impl} ${tasks} tasks, run ${i + 1}/${repeat}: p99 ${run.p99_late_ms} ms, cpu ${run.cpu_ms} ms`,
      );
    }
  }
  for (const impl of ['baseline', 'daebus']) {
    results[`${impl}-${tasks}`] = medianOf(runs[impl]!);
    console.log(JSON.stringify(results[`${impl}-${tasks}`]));
  }
}
for (const impl of ['baseline', 'daebus']) {
  results[`${impl}-mem`] = measure(['memory', impl, '100000'], true);
  console.log(JSON.stringify(results[`${impl}-mem`]));
}
/** Daebus's figure over the baseline's, for the runs measured (null for a size not run). */
const ratio = (key: string, figure: string): number | null => {
  const daebus = results[`daebus-${key}`];
  const baseline = results[`baseline-${key}`];
  if (daebus === undefined || baseline === undefined) return null;
  return Number((Number(daebus[figure]) / Math.max(Number(baseline[figure]), 1e-9)).toFixed(3));
};
console.log(
  JSON.stringify({
    bench: 'sched-ratio',
    p99_late_ratio_1000: ratio('1000', 'p99_late_ms'),
    p99_late_ratio_10000: ratio('10000', 'p99_late_ms'),
    cpu_ratio_10000: ratio('10000', 'cpu_ms'),
    bytes_per_task_ratio: ratio('mem', 'bytes_per_task'),
  }),
);
