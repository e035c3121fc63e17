import { expect, it } from 'vitest';
import { waitFor } from '../harness/wire-client.js';
import { describeExample, getTask } from './example-service.js';

describeExample(
  { file: 'adaptive-cleanup.ts', service: 'adaptive_service', tasks: { adaptive_cleanup: 3600 } },
  (example) => {
    it('adjust_schedule {interval: 1} makes adaptive_cleanup run at least 3 times in 3.6 s', async () => {
      const ran = () => example.logged('Adaptive cleanup ran; next run in 1 s');
      const started = Date.now();
      expect(await example.client.ok(example.service, 'adjust_schedule', { interval: 1 })).toEqual({
        updated: true,
        new_interval: 1,
      });
      await waitFor(() => ran() >= 3, '3 runs of adaptive_cleanup', 3_600 - (Date.now() - started));
      const task = await getTask(example, 'adaptive_cleanup');
      expect(task.interval).toBe(1);
      expect(task.runs).toBeGreaterThanOrEqual(3);
      expect(task.failures).toBe(0);
    });

    it('answers a bad interval with an error reply and keeps the schedule', async () => {
      const reply = await example.client.call(example.service, 'adjust_schedule', { interval: -5 });
      expect(reply.status).toBe('error');
      expect(reply.payload).toMatchObject({ error: expect.stringContaining('-5') });
      expect((await getTask(example, 'adaptive_cleanup')).interval).toBe(1);
    });
  },
);
