import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ChildService } from '../harness/child-service.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'dist', 'cli', 'main.js');
/** One lock per checkout, so that test files (and runs) in parallel build once, in turn. */
const LOCK = join(
  tmpdir(),
  `daebus-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (!existsSync(ENTRY)) return true;
  const built = statSync(ENTRY).mtimeMs;
  const inputs = [
    newestSource(join(ROOT, 'src')),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map(
      (file) => statSync(join(ROOT, file)).mtimeMs,
    ),
  ];
  return inputs.some((mtime) => mtime > built);
}

/**
 * Runs `npm run build` when dist/ is missing or older than src/, so that
 * `bin/daebus.js` runs the code under test. A lock directory keeps parallel
 * test files from building at the same time.
 */
export async function ensureBuilt(): Promise<void> {
  if (!isStale()) return;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Someone else is building; a lock left by a crashed run is cleared after a minute.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 60_000) {
        rmSync(LOCK, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`waited 60 s for the build lock ${LOCK}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    if (!isStale()) return;
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) {
      throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** What a run of the command printed, and how it ended. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment a command runs in: never the shared Redis, unless a test says so. */
function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete base.REDIS_URL;
  return { ...base, ...env };
}

/** Runs `node bin/daebus.js ...args` and resolves when it exits. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 15_000,
): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'daebus.js'), ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `daebus ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Waits until the fixture service `child` says `service` runs on `redisUrl`. */
export async function untilRunning(
  child: ChildService,
  service: string,
  redisUrl: string,
): Promise<void> {
  await child.waitForLog(
    (record) => record.msg === `service "${service}" running on ${redisUrl}`,
    'that the fixture service runs',
    30_000,
  );
}

/** Checks a successful run and returns its stdout. */
export function ok(result: CliResult): string {
  expect(result.code, `stderr: ${result.stderr}\nstdout: ${result.stdout}`).toBe(0);
  expect(result.stderr).toBe('');
  return result.stdout;
}

/** Checks a failed call: exit 1 and exactly one line on stderr, which it returns. */
export function failed(result: CliResult): string {
  expect(result.code, `stdout: ${result.stdout}`).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0]!;
}

/** A long-running command (listen): its output so far, a way to wait for it, and a signal. */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout or stderr (whichever `where` says) matches. */
  waitFor(where: 'stdout' | 'stderr', match: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with how it exited. */
  stop(signal: NodeJS.Signals): Promise<CliResult>;
}

/** Starts `node bin/daebus.js ...args` without waiting for it to end. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'daebus.js'), ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  const wakers = new Set<() => void>();
  for (const where of ['stdout', 'stderr'] as const) {
    child[where].on('data', (chunk: Buffer) => {
      output[where] += chunk.toString();
      for (const wake of wakers) wake();
    });
  }
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      for (const wake of wakers) wake();
      resolve({ code, signal, ...output, ms: performance.now() - started });
    });
  });
  return {
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitFor(where, match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          wakers.delete(check);
          reject(
            new Error(
              `daebus ${args.join(' ')}: ${where} did not match ${match} within ${timeoutMs} ms\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (match.test(output[where])) {
            clearTimeout(timer);
            wakers.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            wakers.delete(check);
            reject(
              new Error(
                `daebus ${args.join(' ')} exited before ${where} matched ${match}\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`,
              ),
            );
          }
        };
        wakers.add(check);
        check();
      });
    },
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          exited,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              child.kill('SIGKILL');
              reject(new Error(`daebus ${args.join(' ')} did not exit within 10 s of ${signal}`));
            }, 10_000);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Each line of `text` parsed as JSON. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
