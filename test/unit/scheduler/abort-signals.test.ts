/**
 * The signals of runs with a timeout: aborted by close() like any run's, and
 * nothing left behind on the app's long-lived shutdown signal per run (Node
 * 20's AbortSignal.any keeps a WeakRef there for every call, forever).
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { DaebusError } from '../../../src/index.js';
import { deferred, newApp, runApp, useSchedulerHarness } from './helpers.js';

useSchedulerHarness();

/** How many dependent signals Node tracks on `signal` (0 when this Node keeps none). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find(
    (s) => s.description === 'kDependantSignals',
  );
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, unknown>)[key];
  // Node's own (primordial) Set class: not `instanceof Set` here.
  const size = (set as { size?: unknown } | undefined)?.size;
  return typeof size === 'number' ? size : 0;
}

describe('the signal of a run with a timeout', () => {
  it('aborts on close() with SHUTTING_DOWN while the run goes on', async () => {
    const app = newApp({ shutdownTimeout: 1 });
    const gate = deferred();
    let signal: AbortSignal | undefined;
    app.background(
      'slow',
      1,
      async (run) => {
        signal = run.signal;
        await gate.promise;
      },
      { timeout: 30 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(signal!.aborted).toBe(false);
    const closed = app.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as DaebusError).code).toBe('SHUTTING_DOWN');
    gate.resolve();
    await closed;
  });

  it('leaves nothing on the shutdown signal per run, however many runs', async () => {
    const app = newApp();
    let shutdown: AbortSignal | undefined;
    let runs = 0;
    app.background('plain', 1, (run) => {
      shutdown = run.signal; // no timeout: the run's signal is the shutdown signal itself
    });
    app.background('sync_timed', 0.01, () => void runs++, { timeout: 5 });
    app.background(
      'async_timed',
      0.01,
      async () => {
        runs++;
        await Promise.resolve();
      },
      { timeout: 5 },
    );
    await runApp(app);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBeGreaterThan(500);
    expect(dependants(shutdown!)).toBe(0);
    expect(getEventListeners(shutdown!, 'abort').length).toBeLessThanOrEqual(2);
    await app.close();
  });
});
