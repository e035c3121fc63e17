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

describe('examples/cleanup.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('cleanup.ts', 'cleanup_service');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists cleanup every 3600 s', async () => {
    await expectPing(example);
    await expectTasks(example, { cleanup: 3600 });
  });

  it('removes the old records on its first run and none on the next', async () => {
    await trigger(example, 'cleanup');
    await example.child.waitForLog(
      (r) => r.msg === 'Cleanup completed: 2 records removed',
      'the first cleanup',
    );
    await trigger(example, 'cleanup');
    await example.child.waitForLog(
      (r) => r.msg === 'Cleanup completed: 0 records removed',
      'the second cleanup',
    );
    expect(await getTask(example, 'cleanup')).toMatchObject({ runs: 2, failures: 0 });
  });

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
