import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  broadcast,
  cache,
  Daebus,
  DaebusCaller,
  DaebusError,
  type RedisSetting,
} from '../../src/index.js';
import { ensureBuilt, runCli } from '../cli/support.js';
import { startChild } from '../harness/child-service.js';
import { freePort, type RedisServer, startRedisServer } from '../harness/redis-server.js';
import { waitFor } from '../harness/wire-client.js';
import { captureLogger, waitForExit } from './support.js';

/**
 * Daebus against a Redis that wants a password, one with the ACL users the
 * README documents, and one that speaks only TLS with a certificate made
 * here. Each time a service, a caller and the `daebus` command do their
 * work, and no password shows in anything they print or throw.
 */

const SERVICE = 'monitor_service';
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The `user …` lines of the ACL in the README's Security section, exactly as documented. */
function documentedAcl(): string[] {
  const section = README.slice(README.indexOf('## Security'));
  const block = /```conf\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README.md has no ```conf block under "## Security"');
  return block.split('\n').filter((line) => line.startsWith('user '));
}

/** A password from a documented ACL line (`>secret`). */
function passwordOf(aclLine: string): string {
  const word = aclLine.split(' ').find((w) => w.startsWith('>'));
  if (word === undefined) throw new Error(`no password in ACL line: ${aclLine}`);
  return word.slice(1);
}

/** Everything one scenario printed or threw, to search for secrets. */
class Transcript {
  readonly #parts: string[] = [];

  add(...parts: unknown[]): void {
    for (const part of parts) {
      this.#parts.push(typeof part === 'string' ? part : inspect(part, { depth: 20 }));
    }
  }

  expectFreeOf(...secrets: string[]): void {
    const text = this.#parts.join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(text.includes(secret), `a secret was printed:\n${text}`).toBe(false);
      expect(text.includes(encodeURIComponent(secret)), 'an encoded secret was printed').toBe(
        false,
      );
    }
  }
}

/** How the service, the caller and the command reach Redis in one scenario. */
interface Access {
  service: RedisSetting;
  caller: RedisSetting;
  cliUrl: string;
  cliEnv?: Record<string, string>;
}

/**
 * Runs `monitor_service` with everything that touches Redis (actions, a
 * listen channel, a broadcast, its own keys, an exclusive task, shared
 * replicas, the heartbeat), calls it with a DaebusCaller and with the
 * `daebus` command, and records all of it in `transcript`.
 */
async function serveAndCall(access: Access, transcript: Transcript): Promise<void> {
  const captured = captureLogger();
  const app = new Daebus('monitor', {
    logger: captured.logger,
    handleSignals: false,
    heartbeatInterval: 0.2,
  });
  const heard: unknown[] = [];
  let sweeps = 0;
  app.action('get_status', () => ({ status: 'healthy' }));
  app.action('remember', async (payload: { value: string }) => {
    await cache.set('monitor:last', payload.value);
    await broadcast.send('monitoring', { remembered: payload.value });
    await broadcast.send('data_events', { type: 'remembered' });
    return { stored: await cache.get('monitor:last') };
  });
  app.listen('data_events', (message) => {
    heard.push(message);
  });
  // Every half second: at 0.1 s, a loaded machine (two cores, test files side by side) delayed
  // the event loop past a whole slot now and then, and the missed-run warning failed the check
  // that the service logged nothing.
  app.background(
    'sweep',
    0.5,
    () => {
      sweeps++;
    },
    { exclusive: true },
  );
  const caller = new DaebusCaller(SERVICE, { redis: access.caller });
  try {
    await app.run({ service: SERVICE, redis: access.service, replicas: 'shared' });
    expect(await caller.request('get_status')).toEqual({ status: 'healthy' });
    expect(await caller.request('remember', { value: 'v1' })).toEqual({ stored: 'v1' });
    await waitFor(() => heard.length > 0, 'the service to hear its own broadcast');
    await waitFor(() => sweeps >= 2, 'two runs of the exclusive task');

    const cli = async (...args: string[]): Promise<string> => {
      const result = await runCli([...args, '--redis', access.cliUrl], access.cliEnv);
      transcript.add(result.stdout, result.stderr);
      expect(result.code, `daebus ${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe('');
      return result.stdout;
    };
    expect(await cli('services')).toContain(SERVICE);
    expect(await cli('ping', SERVICE)).toContain(app.instance!);
    expect(await cli('call', SERVICE, 'get_status')).toContain('healthy');
    expect(await cli('tasks', SERVICE)).toContain('sweep');
  } finally {
    await caller.close();
    await app.close();
    transcript.add(JSON.stringify(captured.records));
  }
  expect(app.status).toBe('closed');
  // Nothing was refused on the way: no warning or error from the service.
  expect(captured.records.filter((r) => r.level >= 40)).toEqual([]);
}

/** Starts a service on `setting` that must be refused at once, and returns the error. */
async function refusedAtStart(setting: RedisSetting, transcript: Transcript): Promise<DaebusError> {
  const captured = captureLogger();
  const app = new Daebus('monitor', { logger: captured.logger, handleSignals: false });
  app.action('get_status', () => ({ status: 'healthy' }));
  const started = performance.now();
  const err = await app.run({ service: SERVICE, redis: setting }).then(
    () => app.close().then(() => new Error('run() resolved')),
    (e: unknown) => e,
  );
  const tookMs = performance.now() - started;
  transcript.add(err, JSON.stringify(captured.records));
  expect(err).toBeInstanceOf(DaebusError);
  expect(app.status).toBe('idle');
  expect(tookMs, 'refused at once, not after the connect timeout').toBeLessThan(2_000);
  return err as DaebusError;
}

/** A caller on `setting` whose first request must be refused; returns the error. */
async function refusedCall(setting: RedisSetting, transcript: Transcript): Promise<DaebusError> {
  const caller = new DaebusCaller(SERVICE, { redis: setting, timeout: 3 });
  try {
    const err = await caller.request('get_status').then(
      () => new Error('the request succeeded'),
      (e: unknown) => e,
    );
    transcript.add(err);
    expect(err).toBeInstanceOf(DaebusError);
    return err as DaebusError;
  } finally {
    await caller.close();
  }
}

/** Runs the command on `url`, which must fail; returns its one line on stderr. */
async function refusedCli(url: string, transcript: Transcript, env?: Record<string, string>) {
  const result = await runCli(['services', '--redis', url], env);
  transcript.add(result.stdout, result.stderr);
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  return result.stderr;
}

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe('a Redis with a password (requirepass)', () => {
  const password = `pw-${randomUUID()}`;
  const wrong = `wrong-${randomUUID()}`;
  const transcript = new Transcript();
  let server: RedisServer;
  let url: (secret: string) => string;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--requirepass', password] });
    url = (secret) => `redis://:${secret}@127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.stop();
    transcript.expectFreeOf(password, wrong);
  });

  it('serves and is called with the password in the URL', async () => {
    await serveAndCall(
      { service: url(password), caller: url(password), cliUrl: url(password) },
      transcript,
    );
  });

  it('takes the password as an ioredis option too', async () => {
    const setting = { url: `redis://127.0.0.1:${server.port}`, password };
    await serveAndCall({ service: setting, caller: setting, cliUrl: url(password) }, transcript);
  });

  it('refuses a wrong password at once, with a message that masks it', async () => {
    const err = await refusedAtStart(url(wrong), transcript);
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toContain(
      `Redis at redis://:***@127.0.0.1:${server.port} refused to connect`,
    );
    expect(err.message).toContain('WRONGPASS');
    const callErr = await refusedCall(url(wrong), transcript);
    expect(callErr.code).toBe('ACCESS_DENIED');
    const stderr = await refusedCli(url(wrong), transcript);
    expect(stderr).toMatch(
      /^daebus services: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused to connect: WRONGPASS/,
    );
  });

  it('refuses a missing password at once', async () => {
    const err = await refusedAtStart(`redis://127.0.0.1:${server.port}`, transcript);
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toContain('NOAUTH');
  });

  it('prints no password when a refused run() is left uncaught', async () => {
    const child = startChild('test/integration/fixtures/unreachable-redis.ts', {
      REDIS_URL: url(wrong),
      CONNECT_TIMEOUT: '5',
      MODE: 'throw',
    });
    const code = await waitForExit(child.process, 15_000, child.output);
    transcript.add(child.output());
    expect(code).not.toBe(0);
    expect(child.output()).toContain('ACCESS_DENIED');
    expect(child.output()).toContain("args: [ '***' ]");
    expect(child.output()).not.toContain(wrong);
  });

  it('masks the password of a URL that does not parse', async () => {
    const broken = `redis://:${wrong}@127.0.0.1:99999`;
    const err = await refusedAtStart(broken, transcript);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('redis://***@127.0.0.1:99999');
    const stderr = await refusedCli(broken, transcript);
    expect(stderr).toContain('not a valid URL');
  });
});

describe('a Redis with the ACL users of the README', () => {
  const acl = documentedAcl();
  const transcript = new Transcript();
  let server: RedisServer;
  let dir: string;
  let as: (user: string, secret?: string) => string;

  beforeAll(async () => {
    expect(acl.map((line) => line.split(' ')[1])).toEqual(['monitor', 'ops']);
    dir = mkdtempSync(join(tmpdir(), 'daebus-acl-'));
    const file = join(dir, 'users.acl');
    writeFileSync(file, `${acl.join('\n')}\n`);
    server = await startRedisServer({ args: ['--aclfile', file] });
    const secrets = Object.fromEntries(acl.map((line) => [line.split(' ')[1], passwordOf(line)]));
    // Database 1, as in the README: SELECT is part of the ACL.
    as = (user, secret = secrets[user]!) => `redis://${user}:${secret}@127.0.0.1:${server.port}/1`;
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    transcript.expectFreeOf(...acl.map(passwordOf), 'not-the-password');
  });

  it('is all a service, a caller and the daebus command need', async () => {
    await serveAndCall(
      { service: as('monitor'), caller: as('ops'), cliUrl: as('ops') },
      transcript,
    );
    // Redis logs every command it refused, those in scripts and those whose errors are ignored too.
    const admin = new Redis(server.port, { lazyConnect: true });
    try {
      await admin.connect();
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
    } finally {
      await admin.quit();
    }
  });

  it('lets no more through: another service or channel is refused at start, by name', async () => {
    const captured = captureLogger();
    const app = new Daebus('other', { logger: captured.logger, handleSignals: false });
    const err = await app.run({ service: 'other_service', redis: as('monitor') }).catch((e) => e);
    transcript.add(err, JSON.stringify(captured.records));
    expect(err).toMatchObject({ code: 'ACCESS_DENIED' });
    expect(err.message).toContain('refused to subscribe to "other_service": NOPERM');
    expect(app.status).toBe('idle');

    const caller = new DaebusCaller('monitor_service', { redis: as('ops') });
    try {
      await expect(caller.sendMessage('monitoring', { not: 'allowed' })).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
      });
    } finally {
      await caller.close();
    }
  });

  it('says why when a changed ACL refuses the subscriptions after a reconnect, and recovers once fixed', async () => {
    const admin = new Redis(server.port, { lazyConnect: true });
    await admin.connect();
    const secret = 'flip-secret-9e1';
    await admin.call(
      'ACL',
      'SETUSER',
      'flip',
      'on',
      `>${secret}`,
      'allkeys',
      'allchannels',
      '+@all',
    );
    const captured = captureLogger();
    const app = new Daebus('flip', { logger: captured.logger, handleSignals: false });
    try {
      await app.run({
        service: 'flip_service',
        redis: `redis://flip:${secret}@127.0.0.1:${server.port}`,
      });
      // The ACL changes while the service is cut off: back, it may connect but not subscribe.
      await admin.call('ACL', 'SETUSER', 'flip', 'resetchannels');
      await admin.call('CLIENT', 'KILL', 'USER', 'flip');
      const refused = () =>
        captured.records.find((r) => String(r.msg).startsWith('still reconnecting'));
      await waitFor(() => refused() !== undefined, 'the refusal to be logged', 10_000);
      expect(refused()!.msg).toContain('refused to restore the subscriptions (flip_service');
      expect(refused()!.msg).toContain('NOPERM');
      expect(app.status).toBe('reconnecting');
      // Fixed: the next try brings every subscription back.
      await admin.call('ACL', 'SETUSER', 'flip', 'allchannels');
      await waitFor(() => app.status === 'running', 'the service to run again', 10_000);
      expect(JSON.stringify(captured.records)).not.toContain(secret);
    } finally {
      await app.close();
      await admin.call('ACL', 'DELUSER', 'flip');
      await admin.quit();
    }
  });

  it('refuses a wrong password for an ACL user at once', async () => {
    const err = await refusedAtStart(as('monitor', 'not-the-password'), transcript);
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toContain(`redis://monitor:***@127.0.0.1:${server.port}/1`);
    expect(await refusedCli(as('ops', 'not-the-password'), transcript)).toContain('WRONGPASS');
  });
});

describe('a Redis that speaks TLS with a self-signed certificate', () => {
  const password = `pw-${randomUUID()}`;
  const transcript = new Transcript();
  let server: RedisServer;
  let dir: string;
  let ca: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'daebus-tls-'));
    const files = makeCertificates(dir);
    ca = files.ca;
    const port = await freePort();
    server = await startRedisServer({
      port,
      args: [
        ...['--port', '0', '--tls-port', String(port)],
        ...['--tls-cert-file', files.cert, '--tls-key-file', files.key],
        ...['--tls-ca-cert-file', files.ca, '--tls-auth-clients', 'no'],
        ...['--requirepass', password],
      ],
    });
    url = `rediss://:${password}@127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    transcript.expectFreeOf(password);
  });

  it('serves and is called over rediss:// with caFile (and REDIS_CA_FILE for the command)', async () => {
    const setting = { url, caFile: ca };
    await serveAndCall(
      { service: setting, caller: setting, cliUrl: url, cliEnv: { REDIS_CA_FILE: ca } },
      transcript,
    );
  });

  it('fails at once, saying what to do, when the certificate cannot be verified (no caFile)', async () => {
    const captured = captureLogger();
    const app = new Daebus('monitor', { logger: captured.logger, handleSignals: false });
    const started = Date.now();
    const err = await app
      .run({ service: SERVICE, redis: { url, connectTimeout: 20 } })
      .catch((e) => e);
    transcript.add(err);
    // Retrying cannot help: no waiting for the 20 s connect timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toMatchObject({ code: 'DISCONNECTED' });
    expect(err.message).toContain('presented a certificate that does not verify');
    expect(err.message).toContain('caFile');
    expect(await refusedCli(url, transcript)).toMatch(/certificate/);
  });

  it('fails at start, naming the path, when the CA file is missing', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const err = await refusedAtStart({ url, caFile: missing }, transcript);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(`cannot read the Redis CA file "${missing}"`);
    expect(await refusedCli(url, transcript, { REDIS_CA_FILE: missing })).toContain(missing);
  });

  it('refuses a CA file for a URL without TLS', async () => {
    const plain = `redis://:${password}@127.0.0.1:${server.port}`;
    const err = await refusedAtStart({ url: plain, caFile: ca }, transcript);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('not a rediss:// URL');
  });
});

/** Runs `openssl` with `args`, failing with its output. */
function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(
      result.error !== undefined
        ? 'openssl is not on PATH, and the TLS tests make their certificate with it. ' +
            'Install it with `apt-get install -y openssl`, then run the tests again.'
        : `openssl ${args.join(' ')} failed:\n${result.stderr}`,
    );
  }
}

/** A private CA and a server certificate it signed, for 127.0.0.1 and localhost. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt')].concat([
      '-days',
      '2',
      '-subj',
      '/CN=Daebus test CA',
    ]),
  );
  openssl(
    ['req', ...ec, '-keyout', path('server.key'), '-out', path('server.csr')].concat([
      '-subj',
      '/CN=localhost',
    ]),
  );
  writeFileSync(path('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl([
    ...['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt')],
    ...['-CAkey', path('ca.key'), '-CAcreateserial', '-out', path('server.crt')],
    ...['-days', '2', '-extfile', path('server.ext')],
  ]);
  return { ca: path('ca.crt'), cert: path('server.crt'), key: path('server.key') };
}
