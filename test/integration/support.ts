import type { ChildProcess } from 'node:child_process';
import type { RunOptions } from '../../src/index.js';
import type { TransportKind } from '../harness/capture-logger.js';
import type { RedisServer } from '../harness/redis-server.js';

export {
  type CapturedRecord,
  captureLogger,
  type TransportKind,
} from '../harness/capture-logger.js';

/** `app.run` options for `service` on the given transport. */
export function runOn(
  kind: TransportKind,
  service: string,
  server: RedisServer,
  extra: Partial<RunOptions> = {},
): RunOptions {
  return kind === 'memory'
    ? { service, transport: 'memory', ...extra }
    : { service, redis: server.url, ...extra };
}

/** Resolves after `ms` (for handlers that must stay busy, never to wait for an event). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An ISO 8601 UTC timestamp as `Date.prototype.toISOString` writes it. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Waits for a child process to exit by itself (no signal sent) and resolves
 * with its exit code; fails after `timeoutMs`, killing it, with its output.
 */
export function waitForExit(
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<number | string> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`child did not exit by itself within ${timeoutMs} ms; output:\n${output()}`),
      );
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? -1);
    });
  });
}
