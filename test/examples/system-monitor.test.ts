import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wire-client.js';
import {
  expectCleanExit,
  expectPing,
  expectTasks,
  expectUnknownAction,
  type RunningExample,
  startExample,
  trigger,
} from './example-service.js';

describe('examples/system-monitor.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('system-monitor.ts', 'system_monitor');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists system_monitor every 30 s', async () => {
    await expectPing(example);
    await expectTasks(example, { system_monitor: 30 });
  });

  it('broadcasts cpu, memory and disk figures on monitoring', async () => {
    const monitoring = await example.client.collect('monitoring');
    try {
      await trigger(example, 'system_monitor');
      await waitFor(() => monitoring.messages.length === 1, 'a monitoring broadcast');
    } finally {
      await monitoring.stop();
    }
    const metrics = monitoring.messages[0] as Record<string, number>;
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

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
