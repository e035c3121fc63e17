import { describe, expect, it } from 'vitest';
import {
  MAX_RECONNECT_DELAY_MS,
  reconnectDelay,
} from '../../../src/transport/redis/redis-transport.js';

const attempts = Array.from({ length: 200 }, (_, i) => i + 1);

describe('reconnectDelay', () => {
  it('stays between half and all of the exponential base, which the cap bounds', () => {
    for (const attempt of attempts) {
      const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt, 10));
      const low = reconnectDelay(attempt, () => 0);
      const high = reconnectDelay(attempt, () => 0.999_999);
      expect(low, `attempt ${attempt}`).toBe(Math.round(base / 2));
      expect(high, `attempt ${attempt}`).toBe(Math.round(base));
      for (let i = 0; i < 20; i++) {
        const delay = reconnectDelay(attempt);
        expect(delay).toBeGreaterThanOrEqual(low);
        expect(delay).toBeLessThanOrEqual(high);
      }
    }
  });

  it('starts fast and never waits longer than the cap, however many attempts failed', () => {
    expect(reconnectDelay(1, () => 0.999_999)).toBeLessThanOrEqual(100);
    expect(MAX_RECONNECT_DELAY_MS).toBeLessThanOrEqual(1_000);
    for (const attempt of [...attempts, 1_000, 1e6, Number.MAX_SAFE_INTEGER]) {
      expect(reconnectDelay(attempt, () => 0.999_999)).toBeLessThanOrEqual(MAX_RECONNECT_DELAY_MS);
    }
    // Past the cap the delay still varies, so a fleet does not retry in lock-step.
    expect(reconnectDelay(50, () => 0)).toBe(MAX_RECONNECT_DELAY_MS / 2);
  });

  it('grows with the attempts until the cap (its smallest value never shrinks)', () => {
    const lows = attempts.map((attempt) => reconnectDelay(attempt, () => 0));
    for (let i = 1; i < lows.length; i++) expect(lows[i]).toBeGreaterThanOrEqual(lows[i - 1]!);
    expect(lows.at(-1)).toBe(MAX_RECONNECT_DELAY_MS / 2);
  });

  it('spreads a fleet: random delays at the cap cover the jitter range', () => {
    const delays = Array.from({ length: 2_000 }, () => reconnectDelay(30));
    expect(Math.min(...delays)).toBeLessThan(MAX_RECONNECT_DELAY_MS * 0.55);
    expect(Math.max(...delays)).toBeGreaterThan(MAX_RECONNECT_DELAY_MS * 0.95);
  });
});
