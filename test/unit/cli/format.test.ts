import { describe, expect, it } from 'vitest';
import { relativeTime, untilTime } from '../../../src/cli/format.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');

describe('relative times on the command line', () => {
  it('say how long ago or how soon a moment is', () => {
    expect(relativeTime('2026-11-28T11:59:48Z', NOW)).toBe('12s ago');
    expect(relativeTime('2026-11-28T12:00:03Z', NOW)).toBe('in 3s');
    expect(relativeTime(null, NOW)).toBeNull();
  });

  it('call a scheduled moment that has come "now", not "ago"', () => {
    expect(untilTime('2026-11-28T11:59:59.999Z', NOW)).toBe('now');
    expect(untilTime('2026-11-28T11:59:50Z', NOW)).toBe('now');
    expect(untilTime('2026-11-28T12:00:00.250Z', NOW)).toBe('in 250ms');
    expect(untilTime(undefined, NOW)).toBeNull();
  });
});
