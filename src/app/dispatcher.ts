import type { AppHandle } from '../context/app-handle.js';
import { Request } from '../context/request.js';
import { Response } from '../context/response.js';
import { contextStorage } from '../context/store.js';
import { type DaebusErrorCode, errorMessage } from '../errors/daebus-error.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { RESERVED_PREFIX, responsesChannel } from '../protocol/names.js';
import { type DecodedRequest, decodeRequest, isUndecodable } from '../protocol/wire-request.js';
import { encodeError } from '../protocol/wire-response.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import { type ActionContext, HandlerCall, type ListenContext } from './handler-context.js';

/** An action handler: gets the payload and its context; may return the reply. */
// biome-ignore lint/suspicious/noExplicitAny: payload types come from the app's action map
export type AnyActionHandler = (payload: any, context: ActionContext<any>) => unknown;
/** A listen handler: gets the decoded broadcast and its context. */
// biome-ignore lint/suspicious/noExplicitAny: broadcast types are the user's
export type AnyListenHandler = (message: any, context: ListenContext<any>) => unknown;

/** What the dispatcher needs from the app. */
export interface DispatcherDeps {
  readonly app: AppHandle;
  readonly actions: ReadonlyMap<string, AnyActionHandler>;
  /** The framework's own `daebus:*` actions. */
  readonly reserved: ReadonlyMap<string, AnyActionHandler>;
  readonly limiter: ConcurrencyLimiter;
}

/**
 * Turns raw messages into handler calls: decodes, routes by action, runs
 * under the concurrency limit, and makes sure every answerable request gets
 * exactly one final reply (PROTOCOL.md, "What the Python server does and
 * the TypeScript server improves"). Nothing a message does can crash it.
 */
export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #complaints = new RateLimitedLog();
  /** False once the app starts closing: new requests are refused with SHUTTING_DOWN. */
  #accepting = true;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  /** Stops taking new requests and broadcasts. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** The listener for the service and instance channels. */
  readonly onRequest = (raw: string, channel: string): void => {
    const decoded = decodeRequest(raw);
    if (isUndecodable(decoded)) {
      this.#complain('bad-request', channel, decoded.error, raw);
      if (decoded.replyTo !== null) {
        this.#reply(decoded.replyTo, encodeError(decoded.error, 'BAD_REQUEST', decoded.requestId));
      }
      return;
    }
    if (!this.#accepting) {
      this.#refuse(
        decoded,
        'SHUTTING_DOWN',
        `service "${this.#deps.app.service}" is shutting down`,
      );
      return;
    }
    const { actions, reserved } = this.#deps;
    const handler = decoded.action.startsWith(RESERVED_PREFIX)
      ? reserved.get(decoded.action)
      : actions.get(decoded.action);
    if (handler === undefined) {
      this.#complain('unknown-action', channel, `unknown action "${decoded.action}"`, raw);
      this.#refuse(
        decoded,
        'UNKNOWN_ACTION',
        `unknown action "${decoded.action}" for service "${this.#deps.app.service}"`,
      );
      return;
    }
    const accepted = this.#deps.limiter.tryRun(() => this.#runAction(decoded, channel, handler));
    if (!accepted) {
      this.#refuse(
        decoded,
        'OVERLOADED',
        `service "${this.#deps.app.service}" is overloaded: too many requests waiting`,
      );
    }
  };

  /** A listener for a broadcast channel that runs the given handlers. */
  listenerFor(handlers: readonly AnyListenHandler[]): (raw: string, channel: string) => void {
    return (raw, channel) => {
      if (!this.#accepting) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch (err) {
        this.#complain(
          'bad-broadcast',
          channel,
          `broadcast is not JSON: ${(err as Error).message}`,
          raw,
        );
        return;
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) {
        this.#complain('bad-broadcast', channel, 'broadcast must be a JSON object', raw);
        return;
      }
      for (const handler of handlers) {
        const accepted = this.#deps.limiter.tryRun(() =>
          this.#runListen(handler, message, channel),
        );
        if (!accepted)
          this.#complain(
            'overloaded',
            channel,
            'too many messages waiting; broadcast dropped',
            raw,
          );
      }
    };
  }

  async #runAction(
    decoded: DecodedRequest,
    channel: string,
    handler: AnyActionHandler,
  ): Promise<void> {
    const app = this.#deps.app;
    const request = new Request(decoded, decoded.payload, channel);
    const response = new Response(app, request);
    const call = new HandlerCall('action', app, request, response);
    let result: unknown;
    try {
      result = await contextStorage.run(call, handler, request.payload, call);
    } catch (err) {
      call.logger.error({ err }, `action "${decoded.action}" failed: ${errorMessage(err)}`);
      if (!response.finished)
        await response.error(err, { code: 'HANDLER_ERROR' }).catch(() => undefined);
      return;
    }
    if (response.finished || (result === undefined && request.replyTo === null)) return;
    try {
      await response.send(result === undefined ? {} : result);
    } catch (err) {
      // The reply could not be encoded (a BigInt, a cycle): say so to the caller.
      if (!response.finished) {
        call.logger.error(
          { err },
          `action "${decoded.action}" returned a reply that cannot be sent: ${errorMessage(err)}`,
        );
        await response.error(err, { code: 'HANDLER_ERROR' }).catch(() => undefined);
      }
    }
  }

  async #runListen(handler: AnyListenHandler, message: unknown, channel: string): Promise<void> {
    const app = this.#deps.app;
    const request = new Request(null, message, channel);
    const call = new HandlerCall('listen', app, request, null);
    try {
      await contextStorage.run(call, handler, message, call);
    } catch (err) {
      call.logger.error({ err }, `listener on "${channel}" failed: ${errorMessage(err)}`);
    }
  }

  /** Sends a final error reply without running a handler. */
  #refuse(decoded: DecodedRequest, code: DaebusErrorCode, message: string): void {
    const channel = decoded.replyTo ?? responsesChannel(this.#deps.app.service);
    this.#reply(channel, encodeError(message, code, decoded.requestId));
  }

  #reply(channel: string, message: string): void {
    this.#deps.app.publish(channel, message).catch((err: unknown) => {
      this.#complain(
        'reply-failed',
        channel,
        `could not send an error reply: ${errorMessage(err)}`,
        message,
      );
    });
  }

  #complain(kind: string, channel: string, problem: string, raw: string): void {
    this.#complaints.warn(
      this.#deps.app.log,
      `${kind}:${channel}`,
      { channel, sample: raw.length > 200 ? `${raw.slice(0, 200)}…` : raw },
      `${problem} (on "${channel}"); message dropped`,
    );
  }
}
