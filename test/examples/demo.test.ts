import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startChild } from '../harness/child-service.js';

/** How many times `text` occurs in `output`. */
function count(output: string, text: string): number {
  return output.split(text).length - 1;
}

describe('examples/demo.ts (npm run demo)', () => {
  it('runs for about 15 s with no Redis, shows its story, and exits 0', async () => {
    const started = Date.now();
    const child = startChild('examples/demo.ts', { REDIS_URL: undefined });
    const [code] = (await once(child.process, 'exit')) as [number | null];
    const output = child.output();
    const elapsed = Date.now() - started;

    expect(code, output).toBe(0);
    expect(elapsed).toBeGreaterThan(12_000);
    expect(elapsed).toBeLessThan(25_000);
    expect(output).toContain('on the in-memory transport');
    expect(output).not.toMatch(/Unhandled|ECONNREFUSED|TIMEOUT/);

    // The live interval change: the reply, then runs one second apart.
    const [beforeChange, afterChange = ''] = output.split(
      'replied {"updated":true,"new_interval":1}',
    );
    expect(count(beforeChange!, 'Adaptive cleanup ran; next run in 3 s')).toBeGreaterThanOrEqual(1);
    expect(count(afterChange, 'Adaptive cleanup ran; next run in 1 s')).toBeGreaterThanOrEqual(5);

    // The one-time task: scheduled, then run once.
    const [, afterSchedule = ''] = output.split('replied {"scheduled":true,"delay":2}');
    expect(count(afterSchedule, 'One-time task executed')).toBe(1);

    // The failing task: each failure logged and counted, and its runs go on after failing.
    const summary = output.match(/flaky_sync ran (\d+) times and failed (\d+) of them/);
    expect(summary, 'the summary line').not.toBeNull();
    const beforeSummary = output.slice(0, summary!.index);
    const failed = count(beforeSummary, 'task "flaky_sync" failed: upstream did not answer');
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(Number(summary![2])).toBe(failed);
    expect(Number(summary![1])).toBeGreaterThan(failed);
    expect(beforeSummary).toMatch(new RegExp(`\\[task=flaky_sync [^\\]]*failures=${failed}[ \\]]`));
    const lastFailure = beforeSummary.lastIndexOf('task "flaky_sync" failed');
    expect(beforeSummary.indexOf('Synchronized with upstream', lastFailure)).toBeGreaterThan(0);

    expect(output).toContain('All services closed');
  }, 40_000);
});
