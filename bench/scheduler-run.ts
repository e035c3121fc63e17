/**
 * One measurement of the scheduler benchmark, in a process of its own. The
 * `build:bench` script compiles it with `bench/tsconfig.json`, and the
 * benchmark (`scheduler.ts`) runs the JavaScript with plain `node` (no
 * TypeScript loader in the measured process):
 *   node dist-bench/bench/scheduler-run.js precision <daebus|baseline> <tasks> <seconds> [lower-helpers]
 *   node --expose-gc dist-bench/bench/scheduler-run.js memory <daebus|baseline> <tasks>
 * Prints one JSON line. A precision run also tells stderr how its CPU time
 * splits: registering the tasks, the first two rounds (in which V8 compiles
 * the code the rounds run, on its helper threads, while the first runs go
 * through unoptimized code) and the rest.
 */
import { Daebus } from 'daebus';

const [mode, impl, tasksArg, secondsArg, lowerArg] = process.argv.slice(2);
/** Daebus with `lowerHelperThreads: true` (off by default). */
const lowerHelperThreads = lowerArg === 'lower-helpers';
const tasks = Number(tasksArg);
const INTERVAL_MS = 1000;

/**
 * Wall-clock time with sub-millisecond resolution. The time origin is read
 * once: its getter allocates a number on every read, and the measurement
 * should cost the process it measures as little as it can.
 */
const timeOrigin = performance.timeOrigin;
const now = (): number => timeOrigin + performance.now();

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function precision(seconds: number): Promise<void> {
  const durationMs = seconds * 1000;
  const fires = Math.ceil(seconds) + 2;
  // lateness[i * fires + k]: lateness of fire k of task i (NaN: did not fire).
  const lateness = new Float64Array(tasks * fires).fill(Number.NaN);
  const registeredAt = new Float64Array(tasks);
  const counts = new Uint32Array(tasks);
  let stop: () => Promise<void>;
  // The clock's first reading loads Node's performance module: do it now, not in the first fire.
  now();
  // CPU time counts from the first registration to the end of the run, for both: starting and
  // stopping the service around the tasks is not scheduling.
  let cpuBefore: NodeJS.CpuUsage;
  const start = Date.now();

  const record = (i: number): void => {
    const k = counts[i]!;
    counts[i] = k + 1;
    if (k < fires) lateness[i * fires + k] = now() - (registeredAt[i]! + (k + 1) * INTERVAL_MS);
  };

  if (impl === 'baseline') {
    // One setTimeout chain per task, anchored to its own fixed grid.
    const timers: NodeJS.Timeout[] = [];
    cpuBefore = process.cpuUsage();
    for (let i = 0; i < tasks; i++) {
      const anchor = Date.now();
      registeredAt[i] = anchor;
      let k = 1;
      const fire = (): void => {
        record(i);
        k++;
        timers[i] = setTimeout(fire, Math.max(0, anchor + k * INTERVAL_MS - Date.now()));
      };
      timers[i] = setTimeout(fire, anchor + INTERVAL_MS - Date.now());
    }
    stop = async () => {
      for (const timer of timers) clearTimeout(timer);
    };
  } else {
    const app = new Daebus('bench', {
      logLevel: 'warn',
      handleSignals: false,
      heartbeatInterval: 3600,
      lowerHelperThreads,
    });
    await app.run({ service: 'bench_scheduler', transport: 'memory' });
    cpuBefore = process.cpuUsage();
    for (let i = 0; i < tasks; i++) {
      // The name and the function are made first: like the baseline's, the grid starts at the
      // clock reading (a collection while they are allocated would put it behind the task's start).
      const name = `t${i}`;
      const fn = () => record(i);
      registeredAt[i] = Date.now();
      app.background(name, INTERVAL_MS / 1000, fn);
    }
    stop = () => app.close();
  }

  // Where the CPU time goes, for stderr: registering, the first two rounds (while V8 compiles the
  // code they run), and the rest of the run.
  const cpuRegistered = process.cpuUsage(cpuBefore);
  let cpuWarm = cpuRegistered;
  const warm = setTimeout(() => {
    cpuWarm = process.cpuUsage(cpuBefore);
  }, 2.5 * INTERVAL_MS);
  await new Promise((resolve) => setTimeout(resolve, durationMs + 300));
  const cpu = process.cpuUsage(cpuBefore);
  clearTimeout(warm);
  const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;
  process.stderr.write(
    `# ${impl} ${tasks} tasks: cpu ${Math.round(cpuMs(cpu))} ms = registration ${Math.round(cpuMs(cpuRegistered))}` +
      ` + first two rounds ${Math.round(cpuMs(cpuWarm) - cpuMs(cpuRegistered))}` +
      ` + the rest ${Math.round(cpuMs(cpu) - cpuMs(cpuWarm))}\n`,
  );
  await stop();
  const end = start + durationMs;

  // Every fire whose ideal time fell inside the run; a missing one is a missed fire.
  const values: number[] = [];
  let missed = 0;
  for (let i = 0; i < tasks; i++) {
    for (let k = 0; k < fires; k++) {
      const ideal = registeredAt[i]! + (k + 1) * INTERVAL_MS;
      if (ideal > end) break;
      const late = lateness[i * fires + k]!;
      if (Number.isNaN(late)) missed++;
      else values.push(late);
    }
  }
  const sorted = Float64Array.from(values).sort();
  // Drift of task 0: how much later its fires come at the end of the run than at its start,
  // as the median of its last five fires against the median of its first five (one cold or
  // unlucky fire is noise, not drift).
  const task0: number[] = [];
  for (let k = 0; k < fires; k++) if (!Number.isNaN(lateness[k]!)) task0.push(lateness[k]!);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const firstLate = median(task0.slice(0, 5));
  const lastLate = median(task0.slice(-5));
  console.log(
    JSON.stringify({
      bench: 'sched',
      impl,
      tasks,
      p50_late_ms: round(percentile(sorted, 50)),
      p99_late_ms: round(percentile(sorted, 99)),
      max_late_ms: round(sorted[sorted.length - 1] ?? 0),
      drift_ms: round(lastLate - firstLate),
      missed,
      cpu_ms: Math.round(cpuMs(cpu)),
    }),
  );
}

async function memory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const settle = () => {
    gc();
    gc();
  };
  const noop = (): void => undefined;
  let keep: unknown;
  let app: Daebus | null = null;
  if (impl === 'daebus') {
    app = new Daebus('bench', { logLevel: 'warn', handleSignals: false, heartbeatInterval: 3600 });
    await app.run({ service: 'bench_memory', transport: 'memory' });
  }
  // The heap and the memory of array buffers, where a scheduler may keep numbers outside the heap.
  const used = () => {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  settle();
  const before = used();
  const started = performance.now();
  if (app !== null) {
    for (let i = 0; i < tasks; i++) app.background(`t${i}`, 3600, noop);
  } else {
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < tasks; i++) {
      const anchor = Date.now();
      let k = 1;
      const fire = (): void => {
        k++;
        timers[i] = setTimeout(fire, anchor + k * 3_600_000 - Date.now());
      };
      timers[i] = setTimeout(fire, 3_600_000);
    }
    keep = timers;
  }
  const registerMs = performance.now() - started;
  settle();
  const after = used();
  console.log(
    JSON.stringify({
      bench: 'sched-mem',
      impl,
      tasks,
      bytes_per_task: Math.round((after - before) / tasks),
      register_ms: Math.round(registerMs),
    }),
  );
  if (app !== null) await app.close();
  for (const timer of (keep as NodeJS.Timeout[] | undefined) ?? []) clearTimeout(timer);
}

if (mode === 'precision') await precision(Number(secondsArg ?? 20));
else await memory();
