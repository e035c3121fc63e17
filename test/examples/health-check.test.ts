import { expect, it } from 'vitest';
import { describeExample, getTask, trigger } from './example-service.js';

describeExample(
  { file: 'health-check.ts', service: 'monitor_service', tasks: { health_check: 60 } },
  (example) => {
    it('logs the health status when health_check runs', async () => {
      await trigger(example, 'health_check');
      const record = await example.child.waitForLog(
        (r) => r.msg?.startsWith('Health check completed: ') === true,
        'a health check',
      );
      expect(record.msg).toMatch(/^Health check completed: (healthy|degraded) \(load /);
      expect(await getTask(example, 'health_check')).toMatchObject({ runs: 1, failures: 0 });
    });
  },
);
