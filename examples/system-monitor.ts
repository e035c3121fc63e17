/**
 * Resource Monitoring: CPU, memory and disk usage, checked every 30 seconds
 * and broadcast on the `monitoring` channel. Node's own `os` and `fs.statfs`
 * stand in for Python's psutil.
 *
 *   npx tsx examples/system-monitor.ts      (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { broadcast, Daebus, directLogger } from '../src/index.js';

const app = new Daebus('system-monitor');

/** Milliseconds all CPUs have spent busy, and in total, since boot. */
function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

let previousCpu = cpuTimes();

/** CPU use since the previous call, like `psutil.cpu_percent()`. */
function cpuPercent(): number {
  const now = cpuTimes();
  const total = now.total - previousCpu.total;
  const busy = now.busy - previousCpu.busy;
  previousCpu = now;
  return total > 0 ? round((busy / total) * 100) : 0;
}

function memoryPercent(): number {
  return round((1 - freemem() / totalmem()) * 100);
}

/** Disk use of the file system holding `path`, like `psutil.disk_usage(path).percent`. */
async function diskPercent(path = '/'): Promise<number> {
  const fs = await statfs(path);
  const used = (fs.blocks - fs.bfree) * fs.bsize;
  const available = fs.bavail * fs.bsize; // what unprivileged users may still write
  return round((used / (used + available)) * 100);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

app.background('system_monitor', 30, async () => {
  try {
    // Collect system metrics.
    const metrics = {
      cpu_percent: cpuPercent(),
      memory_percent: memoryPercent(),
      disk_percent: await diskPercent('/'),
      timestamp: Date.now() / 1000,
    };

    // Log high usage alerts.
    if (metrics.cpu_percent > 90) {
      directLogger.warn(`High CPU usage: ${metrics.cpu_percent}%`);
    }
    if (metrics.memory_percent > 85) {
      directLogger.warn(`High memory usage: ${metrics.memory_percent}%`);
    }

    // Broadcast to the monitoring channel.
    await broadcast.send('monitoring', metrics);
  } catch (err) {
    directLogger.error({ err }, 'Monitoring error');
  }
});

await app.run({ service: 'system_monitor' });
