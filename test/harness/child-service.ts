import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One JSON log record of a child service. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

/** A Daebus program running as a real child process, with its JSON log lines collected. */
export interface ChildService {
  readonly process: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: LogRecord[];
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Waits for a log record that matches, and returns it. */
  waitForLog(
    match: (record: LogRecord) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<LogRecord>;
  /** Sends a signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Runs `file` (relative to the repository root) with tsx, JSON logs, and
 * `env` on top of this process's environment.
 */
export function startChild(
  file: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): ChildService {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, DAEBUS_LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const logs: LogRecord[] = [];
  let text = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        // not a log line
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });

  return {
    process: child,
    logs,
    output: () => text,
    waitForLog(match, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = logs.find(match);
          if (found === undefined) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const onExit = () => {
          if (!check()) {
            cleanup();
            reject(new Error(`${file} exited before logging ${what}; output:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${file} did not log ${what} within ${timeoutMs} ms; output:\n${text}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          child.off('exit', onExit);
        };
        const wake = () => void check();
        if (check()) return;
        waiters.add(wake);
        child.once('exit', onExit);
      });
    },
    stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(
            new Error(`${file} did not exit within ${timeoutMs} ms of ${signal}; output:\n${text}`),
          );
        }, timeoutMs);
        child.once('exit', (code, sig) => {
          clearTimeout(timer);
          resolve(code ?? sig ?? -1);
        });
        child.kill(signal);
      });
    },
  };
}
