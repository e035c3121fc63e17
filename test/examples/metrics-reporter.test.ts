import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectCleanExit,
  expectPing,
  expectTasks,
  expectUnknownAction,
  type RunningExample,
  startExample,
  trigger,
} from './example-service.js';

describe('examples/metrics-reporter.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('metrics-reporter.ts', 'metrics_service');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists metrics_reporter every 300 s', async () => {
    await expectPing(example);
    await expectTasks(example, { metrics_reporter: 300 });
  });

  it('reports the requests counted since the previous report, then resets the count', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await example.client.ok(example.service, 'echo', { n: i })).toEqual({
        echo: { n: i },
      });
    }
    await trigger(example, 'metrics_reporter');
    await example.child.waitForLog(
      (r) => r.msg === 'Processed 3 requests in the last 300 seconds',
      'a report of 3 requests',
    );
    await trigger(example, 'metrics_reporter');
    await example.child.waitForLog(
      (r) => r.msg === 'Processed 0 requests in the last 300 seconds',
      'a report of 0 requests after the reset',
    );
  });

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
