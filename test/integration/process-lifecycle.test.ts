import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildService, startChild } from '../harness/child-service.js';
import { freePort, type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { WireClient } from '../harness/wire-client.js';
import { waitForExit } from './support.js';

const FIXTURES = 'test/integration/fixtures';

let server: RedisServer;
let client: WireClient;
const children: ChildService[] = [];

function start(file: string, env: Record<string, string>): ChildService {
  const child = startChild(`${FIXTURES}/${file}`, env);
  children.push(child);
  return child;
}

beforeAll(async () => {
  server = await startRedisServer();
  client = await WireClient.connect('redis', server.url);
});

afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await client?.close();
  await server?.stop();
});

describe('shutdown signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s closes the service gracefully: the in-flight request is answered, exit 0',
    async (signal) => {
      const service = `graceful_${signal.toLowerCase()}`;
      const child = start('graceful-service.ts', { REDIS_URL: server.url, SERVICE: service });
      await child.waitForLog((r) => r.msg?.includes('running on') === true, 'that it runs');
      const pending = client.call(service, 'slow', { ms: 700 }, 10_000);
      await child.waitForLog((r) => r.msg === 'slow request started', 'the slow request');

      const code = await child.stop(signal);

      expect(code).toBe(0);
      // The child is gone, so this reply was published before it exited,
      // after the close had begun (the handler saw its signal aborted).
      const reply = await pending;
      expect(reply).toMatchObject({
        status: 'success',
        payload: { done: true, closing_when_done: true },
        final: true,
      });
      const messages = child.logs.map((r) => r.msg);
      expect(messages).toContain(`received ${signal}: closing (send it again to exit at once)`);
      expect(messages).toContain(`service "${service}" closed`);
      expect(child.logs.filter((r) => (r.level ?? 0) >= 50)).toEqual([]);
    },
  );
});

describe('after close', () => {
  it.each(['memory', 'redis'] as const)(
    'nothing of Daebus is left on the %s transport, and the process exits by itself',
    async (transport) => {
      const child = start('close-leaves-nothing.ts', {
        DAEBUS_TRANSPORT: transport,
        REDIS_URL: server.url,
      });
      const code = await waitForExit(child.process, 15_000, child.output);
      expect(code, child.output()).toBe(0);
      const report = child.logs.find((r) => r.msg === 'resources') as
        | { answer: string; before: string[]; during: string[]; after: string[] }
        | undefined;
      expect(report, child.output()).toBeDefined();
      expect(report!.answer).toBe('success');
      // The fixture did hold timers (and sockets on Redis) while running…
      expect(report!.during).toContain('Timeout');
      if (transport === 'redis') expect(report!.during).toContain('TCPSocketWrap');
      // …and after close only what the process had before Daebus started.
      expect([...report!.after].sort()).toEqual([...report!.before].sort());
      expect(report!.after).not.toContain('Timeout');
      expect(report!.after).not.toContain('TCPSocketWrap');
    },
  );
});

describe('after close, with a slow chrt', () => {
  it('the close waits for the shell that moves the helper threads: it does not outlive the service', async () => {
    // A chrt that takes 200 ms a thread: the shell runs well past the fixture's close.
    const bin = mkdtempSync(join(tmpdir(), 'daebus-slow-chrt-'));
    writeFileSync(join(bin, 'chrt'), '#!/bin/sh\nsleep 0.2\nexit 0\n', { mode: 0o755 });
    const child = start('close-leaves-nothing.ts', {
      DAEBUS_TRANSPORT: 'memory',
      LOWER_HELPERS: '1',
      LOG_LEVEL: 'debug',
      PATH: `${bin}:${process.env.PATH}`,
    });
    const code = await waitForExit(child.process, 15_000, child.output);
    rmSync(bin, { recursive: true });
    expect(code, child.output()).toBe(0);
    const report = child.logs.find((r) => r.msg === 'resources') as
      | { before: string[]; after: string[] }
      | undefined;
    expect(report, child.output()).toBeDefined();
    expect([...report!.after].sort()).toEqual([...report!.before].sort());
    const lowered = child.logs.find((r) => r.msg?.startsWith('helper threads:'));
    expect(lowered, child.output()).toMatchObject({ nice: 19 });
    expect((lowered as { idle: number }).idle).toBeGreaterThan(0);
  });
});

describe('an unreachable Redis', () => {
  it('makes run() fail with a clear DaebusError within the connect timeout; the process ends by itself', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const child = start('unreachable-redis.ts', {
      REDIS_URL: url,
      CONNECT_TIMEOUT: '1',
      MODE: 'catch',
    });
    const exited = waitForExit(child.process, 15_000, child.output);
    await child.waitForLog((r) => r.msg === 'run failed', 'the failure of run()');
    const failedAt = Date.now();
    const code = await exited;
    // Nothing of Daebus (no socket, no reconnection timer) holds the process once run() failed.
    expect(Date.now() - failedAt, child.output()).toBeLessThan(1_000);
    const failure = child.logs.find((r) => r.msg === 'run failed') as
      | {
          name: string;
          code: string;
          message: string;
          elapsed_ms: number;
          status: string;
          before: string[];
          after: string[];
        }
      | undefined;
    expect(failure, child.output()).toBeDefined();
    expect(failure!.name).toBe('DaebusError');
    expect(failure!.code).toBe('DISCONNECTED');
    expect(failure!.message).toContain(`cannot reach Redis at ${url} within 1 s`);
    expect(failure!.message).toContain('ECONNREFUSED');
    expect(failure!.message).toContain('Start redis-server there');
    expect(failure!.message).toContain('REDIS_URL');
    expect(failure!.elapsed_ms).toBeGreaterThanOrEqual(900);
    expect(failure!.elapsed_ms).toBeLessThan(2_000);
    expect(failure!.status).toBe('idle');
    expect([...failure!.after].sort()).toEqual([...failure!.before].sort());
    // Exit code 2 is the fixture's own: no process.exit, so nothing was left running.
    expect(code).toBe(2);
  });

  it('ends a program whose top-level run() rejects with a non-zero code and the message', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const child = start('unreachable-redis.ts', {
      REDIS_URL: url,
      CONNECT_TIMEOUT: '1',
      MODE: 'throw',
    });
    const code = await waitForExit(child.process, 15_000, child.output);
    expect(code).not.toBe(0);
    expect(child.output()).toContain('DaebusError');
    expect(child.output()).toContain(`cannot reach Redis at ${url}`);
  });
});
