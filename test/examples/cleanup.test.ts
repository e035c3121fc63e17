import { expect, it } from 'vitest';
import { describeExample, getTask, triggerUntilLogged } from './example-service.js';

describeExample(
  { file: 'cleanup.ts', service: 'cleanup_service', tasks: { cleanup: 3600 } },
  (example) => {
    it('removes the old records on its first run and none on the next', async () => {
      await triggerUntilLogged(
        example,
        'cleanup',
        'Cleanup completed: 2 records removed',
        'the first cleanup',
      );
      await triggerUntilLogged(
        example,
        'cleanup',
        'Cleanup completed: 0 records removed',
        'the second cleanup',
      );
      expect(await getTask(example, 'cleanup')).toMatchObject({ runs: 2, failures: 0 });
    });
  },
);
