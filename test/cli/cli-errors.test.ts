import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/index.js';
import { freePort } from '../harness/redis-server.js';
import { ensureBuilt, runCli } from './support.js';

/**
 * The `daebus` command's help and its failures, run as the real binary.
 * Every command line here points at a port where nothing listens: a command
 * that wrongly tried to connect would fail with exit 1 instead of 2.
 */

// Each test runs its own processes and shares nothing: they run side by side.
const test = it.concurrent;
const COMMANDS = ['call', 'services', 'tasks', 'task', 'ping', 'listen', 'send'];
let deadRedis: string;

beforeAll(async () => {
  await ensureBuilt();
  deadRedis = `redis://127.0.0.1:${await freePort()}`;
}, 120_000);

describe('daebus --help', () => {
  test('lists every command and exits 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = await runCli([flag]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('Usage: daebus <command>');
      for (const name of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
  });

  test('prints the version with --version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(VERSION);
  });

  test('shows the help, and exits 2, when no command is given', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: daebus <command>');
  });

  test.each(COMMANDS)('daebus %s --help shows its usage and the shared options', async (name) => {
    const result = await runCli([name, '--help', '--redis', deadRedis]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: daebus ${name} `));
    for (const option of ['--redis URL', '--json', '--timeout s', '-h, --help']) {
      expect(result.stdout).toContain(option);
    }
    expect(result.stderr).toBe('');
  });
});

describe('a wrong command line exits 2 with a one-line message', () => {
  test('names an unknown command', async () => {
    const result = await runCli(['frobnicate', '--redis', deadRedis]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'daebus: unknown command "frobnicate"; run `daebus --help` for the list\n',
    );
    expect(result.stdout).toBe('');
  });

  test.each([
    [['call', 'only_a_service'], /wrong number of arguments\. Usage: daebus call /],
    [['call', 'svc', 'act', '{}', 'extra'], /wrong number of arguments/],
    [['services', 'extra'], /wrong number of arguments\. Usage: daebus services/],
    [['tasks'], /wrong number of arguments\. Usage: daebus tasks /],
    [['task', 'svc', 'cleanup'], /wrong number of arguments\. Usage: daebus task /],
    [['ping'], /wrong number of arguments/],
    [['listen'], /wrong number of arguments\. Usage: daebus listen /],
    [['send', 'channel'], /wrong number of arguments\. Usage: daebus send /],
    [['call', 'svc', 'act', '--bogus'], /--bogus/],
    [['call', 'svc', 'act', '--timeout=-1'], /--timeout must be a positive number of seconds/],
    [['call', 'svc', 'act', '--timeout', '-1'], /Option '--timeout' argument is ambiguous/],
    [['call', 'svc', 'act', '--timeout'], /--timeout/],
    [['call', 'svc', 'act', '--timeout', 'soon'], /got "soon"/],
    [['call', 'svc', 'act', '{not json'], /the payload is not valid JSON/],
    [['send', 'news', 'not json'], /the message is not valid JSON/],
    [['send', 'news', '[1, 2]'], /the message must be a JSON object/],
    [['task', 'svc', 'cleanup', 'explode'], /unknown operation "explode"/],
    [['task', 'svc', 'cleanup', 'interval'], /interval needs a number of seconds/],
    [['task', 'svc', 'cleanup', 'pause', '5'], /pause takes no value/],
  ])('daebus %j', async (args, message) => {
    const result = await runCli([...args, '--redis', deadRedis]);
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^daebus ${args[0]}: `));
    expect(lines[0]).toMatch(message);
    expect(result.stdout).toBe('');
  });
});

describe('when Redis cannot be reached', () => {
  test('prints one line, masks the password of --redis, and exits 1', async () => {
    const port = await freePort();
    const [flag, env] = await Promise.all([
      runCli(['services', '--redis', `redis://admin:hunter2@127.0.0.1:${port}/0`]),
      runCli(['ping', 'some_service'], { REDIS_URL: `redis://:sw0rdfish@127.0.0.1:${port}` }),
    ]);
    for (const [result, secret, shown] of [
      [flag, 'hunter2', `redis://admin:***@127.0.0.1:${port}`],
      [env, 'sw0rdfish', `redis://:***@127.0.0.1:${port}`],
    ] as const) {
      expect(result.code, result.stderr).toBe(1);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^daebus (services|ping): cannot reach Redis at /);
      expect(lines[0]).toContain(shown);
      expect(result.stderr + result.stdout).not.toContain(secret);
      expect(result.stdout).toBe('');
      expect(result.ms).toBeLessThan(10_000);
    }
  });
});
