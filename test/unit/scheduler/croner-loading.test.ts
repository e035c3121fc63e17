/**
 * croner is loaded with the first cron schedule, not when Daebus is
 * imported: a service without cron tasks does not pay for it at start.
 * The module mock below notes an import of croner through the module graph
 * (what a static import at the top of a module does); Daebus loads its
 * CommonJS build when it first needs it, which Node's module cache shows.
 */
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const croner = vi.hoisted(() => ({ imported: false }));
vi.mock('croner', async (importOriginal) => {
  croner.imported = true;
  return importOriginal();
});

const requireCache = createRequire(import.meta.url).cache;
const cronerRequired = (): boolean =>
  Object.keys(requireCache).some((path) => path.includes(`${sep}croner${sep}`));

describe('loading croner', () => {
  it('waits for the first cron schedule', async () => {
    const { Daebus } = await import('../../../src/index.js');
    const app = new Daebus('lazy_croner', { logLevel: 'silent', handleSignals: false });
    app.background('tick', 60, () => undefined);
    expect(croner.imported, 'croner imported with Daebus').toBe(false);
    expect(cronerRequired(), 'croner loaded before any cron schedule').toBe(false);

    const report = app.background('report', { cron: '0 */5 * * * *' }, () => undefined);
    expect(cronerRequired()).toBe(true);
    expect(report.cron).toBe('0 */5 * * * *');
    expect(croner.imported).toBe(false);
  });
});
