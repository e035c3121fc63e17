import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppStatus, Daebus, DaebusError } from '../../src/index.js';
import { type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient } from '../harness/wire-client.js';
import { captureLogger, delay, runOn } from './support.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

describe.each(['memory', 'redis'] as const)(
  'close() while run() is starting, over the %s transport',
  (kind) => {
    /** An app with a fast task, a start hook that waits for `release`, and a close hook that counts. */
    function makeApp(service: string) {
      const captured = captureLogger();
      const app = new Daebus('closing_early', {
        logger: captured.logger,
        handleSignals: false,
        heartbeatInterval: 0.05,
      });
      const seen = { runs: 0, closeHooks: 0, statuses: [] as AppStatus[] };
      app.on('status', (status: AppStatus) => seen.statuses.push(status));
      app.background('tick', 0.02, () => {
        seen.runs++;
      });
      app.onClose(() => {
        seen.closeHooks++;
      });
      return { app, seen, captured, options: runOn(kind, service, server) };
    }

    /** How many subscribers a message on `channel` reaches (0 once the service has let go of it). */
    async function receiversOf(channel: string): Promise<number> {
      const client = await WireClient.connect(kind, server.url);
      try {
        return await client.publishRaw(channel, '{}');
      } finally {
        await client.close();
      }
    }

    /** Nothing of the service started: after a while no task has run and nobody listens on its channel. */
    async function expectNothingStarted(seen: { runs: number }, service: string): Promise<void> {
      await delay(150);
      expect(seen.runs).toBe(0);
      expect(await receiversOf(service)).toBe(0);
    }

    it('from a start hook: run() rejects with SHUTTING_DOWN, the close hooks run, no task runs and no request is answered', async () => {
      const service = `closing_in_hook_${kind}`;
      const { app, seen, captured, options } = makeApp(service);
      let closed: Promise<void> | undefined;
      app.onStart(async () => {
        closed = app.close();
        await delay(10);
      });

      const run = app.run(options);
      await expect(run).rejects.toThrow(DaebusError);
      await expect(run).rejects.toMatchObject({
        code: 'SHUTTING_DOWN',
        message: `service "${service}" was closed while starting; it did not start`,
      });
      await closed;
      expect(app.status).toBe('closed');
      expect(seen.statuses).toEqual(['starting', 'closing', 'closed']);
      expect(seen.closeHooks).toBe(1);
      // Not an error: the start stopped because it was asked to.
      expect(captured.records.filter((r) => r.level >= 50)).toEqual([]);
      await expectNothingStarted(seen, service);
    });

    it('while connecting: run() rejects, the close hooks do not run (no start hook has), and the app can run again', async () => {
      const service = `closing_while_connecting_${kind}`;
      const { app, seen, options } = makeApp(service);
      let startHooks = 0;
      app.onStart(() => {
        startHooks++;
      });

      const run = app.run(options);
      expect(app.status).toBe('starting');
      const closed = app.close();
      await expect(run).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      await closed;
      expect(app.status).toBe('closed');
      expect(startHooks).toBe(0);
      expect(seen.closeHooks).toBe(0);
      await expectNothingStarted(seen, service);

      // A stopped start leaves the app as a close does: it runs again, and its tasks with it.
      await app.run(options);
      try {
        expect(app.status).toBe('running');
        expect(startHooks).toBe(1);
        expect(await receiversOf(service)).toBe(1);
        await delay(150);
        expect(seen.runs).toBeGreaterThan(0);
      } finally {
        await app.close();
      }
      expect(seen.closeHooks).toBe(1);
    });

    it('from a listener of the starting status: the start stops before it connects', async () => {
      const service = `closing_on_status_${kind}`;
      const { app, seen, options } = makeApp(service);
      let closed: Promise<void> | undefined;
      app.once('status', () => {
        closed = app.close();
      });

      await expect(app.run(options)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      await closed;
      expect(app.status).toBe('closed');
      expect(seen.statuses).toEqual(['starting', 'closing', 'closed']);
      expect(seen.closeHooks).toBe(0);
      await expectNothingStarted(seen, service);
    });

    it('a second run() while running is rejected, and close() right after it closes the running service', async () => {
      const service = `closing_running_${kind}`;
      const { app, seen, options } = makeApp(service);
      await app.run(options);
      expect(await receiversOf(service)).toBe(1);

      // The rejected run() is no start in progress: close() does not wait for it, it closes.
      const again = app.run(options);
      const closed = app.close();
      await expect(again).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await closed;
      expect(app.status).toBe('closed');
      expect(seen.closeHooks).toBe(1);
      expect(await receiversOf(service)).toBe(0);
    });
  },
);
