import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectCleanExit,
  expectPing,
  expectTasks,
  expectUnknownAction,
  getTask,
  type RunningExample,
  startExample,
  trigger,
} from './example-service.js';

describe('examples/db-cleanup.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('db-cleanup.ts', 'db_service');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists db_cleanup every 86400 s', async () => {
    await expectPing(example);
    await expectTasks(example, { db_cleanup: 86400 });
  });

  it('deletes old log entries and temporary files, then optimizes', async () => {
    await trigger(example, 'db_cleanup');
    await example.child.waitForLog(
      (r) => r.msg === 'Database optimization completed',
      'the end of the cleanup',
    );
    expect(example.logged('Deleted 2 old log entries')).toBe(1);
    expect(example.logged('Deleted 2 temporary files')).toBe(1);
    expect(await getTask(example, 'db_cleanup')).toMatchObject({ runs: 1, failures: 0 });

    await trigger(example, 'db_cleanup');
    await example.child.waitForLog(
      (r) => r.msg === 'Deleted 0 temporary files',
      'a second cleanup with nothing left to delete',
    );
    expect(example.logged('Deleted 0 old log entries')).toBe(1);
  });

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
