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

describe('examples/health-check.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('health-check.ts', 'monitor_service');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists health_check every 60 s', async () => {
    await expectPing(example);
    await expectTasks(example, { health_check: 60 });
  });

  it('logs the health status when health_check runs', async () => {
    await trigger(example, 'health_check');
    const record = await example.child.waitForLog(
      (r) => r.msg?.startsWith('Health check completed: ') === true,
      'a health check',
    );
    expect(record.msg).toMatch(/^Health check completed: (healthy|degraded) \(load /);
    expect(await getTask(example, 'health_check')).toMatchObject({ runs: 1, failures: 0 });
  });

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
