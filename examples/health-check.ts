/**
 * Scheduling a Task: a service that checks the machine's health every 60 seconds.
 *
 *   npx tsx examples/health-check.ts        (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import { Daebus, directLogger } from '../src/index.js';

const app = new Daebus('health-check');

/** A stand-in for a real check: this machine's load and free memory. */
function checkSystemHealth(): string {
  const load = loadavg()[0] ?? 0;
  const cpus = availableParallelism();
  const freePercent = Math.round((freemem() / totalmem()) * 100);
  const busy = load > cpus || freePercent < 5;
  return `${busy ? 'degraded' : 'healthy'} (load ${load.toFixed(2)} on ${cpus} CPUs, ${freePercent}% memory free)`;
}

// Name "health_check", run every 60 seconds (the first run 60 s after start).
app.background('health_check', 60, () => {
  try {
    const status = checkSystemHealth();
    directLogger.info(`Health check completed: ${status}`);
  } catch (err) {
    directLogger.error({ err }, 'Health check failed');
  }
});

await app.run({ service: 'monitor_service' });
