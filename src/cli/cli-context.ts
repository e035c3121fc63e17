import { DaebusCaller } from '../caller/daebus-caller.js';
import { RedisTransport } from '../transport/redis/redis-transport.js';
import { resolveRedisUrl } from '../transport/redis/redis-url.js';

/** What every command gets: the shared flags, output, and connections it opens lazily. */
export class CliContext {
  /** The Redis URL (`--redis`, else `REDIS_URL`, else the default). */
  readonly redisUrl: string;
  /** `--json`: machine-readable output, one JSON document per line. */
  readonly json: boolean;
  /** Seconds to wait for replies. */
  readonly timeout: number;
  readonly #write: (text: string) => void;
  #transport: RedisTransport | null = null;
  readonly #callers: DaebusCaller[] = [];

  constructor(options: {
    redis?: string;
    json: boolean;
    timeout: number;
    write?: (text: string) => void;
  }) {
    this.redisUrl = resolveRedisUrl(options.redis);
    this.json = options.json;
    this.timeout = options.timeout;
    this.#write = options.write ?? ((text) => process.stdout.write(text));
  }

  /** Prints one line. */
  print(line: string): void {
    this.#write(`${line}\n`);
  }

  /** Prints a value as one JSON line. */
  printJson(value: unknown): void {
    this.print(JSON.stringify(value));
  }

  /** A connected Redis transport (one per command run). */
  async transport(): Promise<RedisTransport> {
    if (this.#transport === null) {
      const transport = new RedisTransport({ url: this.redisUrl, connectTimeout: 3 });
      await transport.connect();
      this.#transport = transport;
    }
    return this.#transport;
  }

  /** A caller for `service` over this command's connection. */
  async caller(service: string): Promise<DaebusCaller> {
    const caller = new DaebusCaller(service, {
      transport: await this.transport(),
      timeout: this.timeout,
    });
    this.#callers.push(caller);
    return caller;
  }

  async close(): Promise<void> {
    await Promise.all(this.#callers.map((caller) => caller.close()));
    await this.#transport?.close();
  }
}
