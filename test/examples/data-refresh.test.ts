import { expect, it } from 'vitest';
import { describeExample, triggerBroadcast } from './example-service.js';

describeExample(
  { file: 'data-refresh.ts', service: 'data_service', tasks: { data_refresh: 300 } },
  (example) => {
    it('get_data answers an empty cache before the first refresh', async () => {
      expect(await example.client.ok(example.service, 'get_data')).toEqual({
        data: {},
        last_updated: 0,
      });
    });

    it('data_refresh fills the cache and broadcasts on data_events', async () => {
      const event = await triggerBroadcast<{ type: string; timestamp: number }>(
        example,
        'data_refresh',
        'data_events',
        'a data_events broadcast',
      );
      expect(event).toEqual({ type: 'data_refreshed', timestamp: expect.any(Number) });
      expect(Math.abs(event.timestamp - Date.now() / 1000)).toBeLessThan(10);

      const reply = await example.client.ok<{
        data: Record<string, unknown>;
        last_updated: number;
      }>(example.service, 'get_data');
      expect(reply.last_updated).toBe(event.timestamp);
      expect(reply.data).toMatchObject({ host: expect.any(String), uptime_s: expect.any(Number) });
      // The example logs after it broadcasts, and its stdout may lag the reply: wait, then count.
      await example.child.waitForLog(
        (r) => r.msg === 'Data cache refreshed successfully',
        'the refresh log line',
      );
      expect(example.logged('Data cache refreshed successfully')).toBe(1);
    });
  },
);
