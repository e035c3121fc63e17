import { expect, it } from 'vitest';
import { describeExample, triggerBroadcast } from './example-service.js';

describeExample(
  { file: 'system-monitor.ts', service: 'system_monitor', tasks: { system_monitor: 30 } },
  (example) => {
    it('broadcasts cpu, memory and disk figures on monitoring', async () => {
      const metrics = await triggerBroadcast<Record<string, number>>(
        example,
        'system_monitor',
        'monitoring',
        'a monitoring broadcast',
      );
      expect(Object.keys(metrics).sort()).toEqual([
        'cpu_percent',
        'disk_percent',
        'memory_percent',
        'timestamp',
      ]);
      for (const field of ['cpu_percent', 'memory_percent', 'disk_percent']) {
        expect(metrics[field], field).toBeGreaterThanOrEqual(0);
        expect(metrics[field], field).toBeLessThanOrEqual(100);
      }
      expect(metrics.memory_percent).toBeGreaterThan(0);
      expect(metrics.disk_percent).toBeGreaterThan(0);
      expect(Math.abs(metrics.timestamp! - Date.now() / 1000)).toBeLessThan(10);
    });
  },
);
