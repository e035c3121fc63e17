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

describe('examples/data-refresh.ts', () => {
  let example: RunningExample;
  beforeAll(async () => {
    example = await startExample('data-refresh.ts', 'data_service');
  });
  afterAll(() => example?.close());

  it('answers daebus:ping and lists data_refresh every 300 s', async () => {
    await expectPing(example);
    await expectTasks(example, { data_refresh: 300 });
  });

  it('get_data answers an empty cache before the first refresh', async () => {
    expect(await example.client.ok(example.service, 'get_data')).toEqual({
      data: {},
      last_updated: 0,
    });
  });

  it('data_refresh fills the cache and broadcasts on data_events', async () => {
    const events = await example.client.collect('data_events');
    try {
      await trigger(example, 'data_refresh');
      await waitFor(() => events.messages.length === 1, 'a data_events broadcast');
    } finally {
      await events.stop();
    }
    const event = events.messages[0] as { type: string; timestamp: number };
    expect(event).toEqual({ type: 'data_refreshed', timestamp: expect.any(Number) });
    expect(Math.abs(event.timestamp - Date.now() / 1000)).toBeLessThan(10);

    const reply = await example.client.ok<{ data: Record<string, unknown>; last_updated: number }>(
      example.service,
      'get_data',
    );
    expect(reply.last_updated).toBe(event.timestamp);
    expect(reply.data).toMatchObject({ host: expect.any(String), uptime_s: expect.any(Number) });
    expect(example.logged('Data cache refreshed successfully')).toBe(1);
  });

  it('answers an unknown action with UNKNOWN_ACTION', () => expectUnknownAction(example));

  it('exits 0 on SIGTERM', () => expectCleanExit(example));
});
