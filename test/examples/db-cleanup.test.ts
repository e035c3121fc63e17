import { expect, it } from 'vitest';
import { describeExample, getTask, triggerUntilLogged } from './example-service.js';

describeExample(
  { file: 'db-cleanup.ts', service: 'db_service', tasks: { db_cleanup: 86400 } },
  (example) => {
    it('deletes old log entries and temporary files, then optimizes', async () => {
      await triggerUntilLogged(
        example,
        'db_cleanup',
        'Database optimization completed',
        'the end of the cleanup',
      );
      expect(example.logged('Deleted 2 old log entries')).toBe(1);
      expect(example.logged('Deleted 2 temporary files')).toBe(1);
      expect(await getTask(example, 'db_cleanup')).toMatchObject({ runs: 1, failures: 0 });

      await triggerUntilLogged(
        example,
        'db_cleanup',
        'Deleted 0 temporary files',
        'a second cleanup with nothing left to delete',
      );
      expect(example.logged('Deleted 0 old log entries')).toBe(1);
    });
  },
);
