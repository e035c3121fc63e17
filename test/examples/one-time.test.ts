import { expect, it } from 'vitest';
import { waitFor } from '../harness/wire-client.js';
import { describeExample, listTasks } from './example-service.js';

describeExample(
  {
    file: 'one-time.ts',
    service: 'onetime_service',
    tasks: {},
    tasksTitle: 'has no task until one is scheduled',
    exitTitle: 'exits 0 on SIGTERM, with a one-time task still pending',
  },
  (example) => {
    it('schedule_one_time {delay: 0.2} replies, then the task runs once', async () => {
      expect(await example.client.ok(example.service, 'schedule_one_time', { delay: 0.2 })).toEqual(
        {
          scheduled: true,
          delay: 0.2,
        },
      );
      await example.child.waitForLog(
        (r) => r.msg === 'One-time task executed',
        'the one-time task',
      );
      // Once it has run, it leaves the task list.
      await waitFor(async () => (await listTasks(example)).length === 0, 'the task list to empty');
      expect(example.logged('One-time task executed')).toBe(1);
    });

    it('lists a pending one-time task in daebus:tasks', async () => {
      await example.client.ok(example.service, 'schedule_one_time', { delay: 60 });
      const [task, ...others] = await listTasks(example);
      expect(others).toEqual([]);
      expect(task).toMatchObject({ kind: 'once', interval: null, paused: false, runs: 0 });
      expect(Date.parse(task!.next_run_at as string) - Date.now()).toBeGreaterThan(50_000);
    });

    it('answers a bad delay with an error reply', async () => {
      const reply = await example.client.call(example.service, 'schedule_one_time', { delay: -1 });
      expect(reply.status).toBe('error');
      expect(reply.payload).toMatchObject({
        code: 'HANDLER_ERROR',
        error: expect.stringContaining('-1'),
      });
    });
  },
);
