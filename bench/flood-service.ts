/**
 * The service side of the flood benchmark, run as its own process with
 * --expose-gc: a Daebus service whose `work` action takes about 1 ms, with
 * the limits given on the command line. Talks to bench/flood.ts over IPC:
 * `baseline` (collect garbage, note memory, start sampling the peak) and
 * `report` (stop sampling, collect garbage, send before/peak/after).
 */
import { Daebus } from 'daebus';

const [url, service, maxConcurrency, maxQueue] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

interface Memory {
  heap: number;
  rss: number;
}

const now = (): Memory => {
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
};
let before: Memory = now();
let peak: Memory = before;
let sampler: NodeJS.Timeout | undefined;
const sample = () => {
  const m = now();
  peak = { heap: Math.max(peak.heap, m.heap), rss: Math.max(peak.rss, m.rss) };
};

let runs = 0;
const app = new Daebus('flood', {
  maxConcurrency: Number(maxConcurrency),
  maxQueue: Number(maxQueue),
  logLevel: 'warn',
  handleSignals: false,
});
app.action('work', async (payload: { i: number }) => {
  if (++runs % 500 === 0) sample();
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { i: payload.i };
});
await app.run({ service: service!, redis: url });

process.on('message', (message: string) => {
  if (message === 'baseline') {
    gc();
    before = now();
    peak = before;
    sampler = setInterval(sample, 5);
    process.send!({ type: 'baseline' });
  } else if (message === 'report') {
    clearInterval(sampler);
    sample();
    gc();
    process.send!({ type: 'report', before, peak, after: now(), runs });
  } else if (message === 'stop') {
    void app.close().then(() => process.disconnect());
  }
});
process.send!({ type: 'ready' });
