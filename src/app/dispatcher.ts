import type { AppHandle } from '../context/app-handle.js';
import { Request } from '../context/request.js';
import { Response } from '../context/response.js';
import { contextStorage } from '../context/store.js';
import { type DaebusErrorCode, errorMessage } from '../errors/daebus-error.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { RESERVED_PREFIX, responsesChannel } from '../protocol/names.js';
import { exceedsBytes, peekReplyAddress } from '../protocol/oversize.js';
import {
  type DecodedRequest,
  decodeRequest,
  isUndecodable,
  type UndecodableMessage,
} from '../protocol/wire-request.js';
import { encodeError } from '../protocol/wire-response.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import { type ActionContext, HandlerCall, type ListenContext } from './handler-context.js';
import type { ClaimOutcome, RequestClaims } from './request-claims.js';

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
  /** In `replicas: 'shared'` mode, the claims that pick one replica per service-channel request. */
  readonly claims?: RequestClaims | null;
  /** Messages longer than this many UTF-8 bytes are refused unparsed. */
  readonly maxPayloadBytes: number;
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
    if (exceedsBytes(raw, this.#deps.maxPayloadBytes)) {
      const problem = this.#tooLarge(raw);
      this.#complain('too-large', channel, problem, raw);
      const { replyTo, requestId } = peekReplyAddress(raw);
      if (replyTo !== null) this.#reply(replyTo, encodeError(problem, 'BAD_REQUEST', requestId));
      return;
    }
    const decoded = decodeRequest(raw);
    const claims = this.#deps.claims;
    if (claims?.covers(channel) && !(isUndecodable(decoded) && decoded.replyTo === null)) {
      // Shared replicas: only the one whose claim lands answers; a closing one leaves it to the others.
      if (this.#accepting) {
        claims.claim(raw, decoded.requestId, (outcome) =>
          this.#onClaim(outcome, raw, channel, decoded),
        );
      }
      return;
    }
    this.#route(raw, channel, decoded, false);
  };

  /** Resolves once no claim is in flight and no handler runs or waits. */
  async onIdle(): Promise<void> {
    await this.#deps.claims?.onIdle();
    await this.#deps.limiter.onIdle();
  }

  /** Answers a decoded request; `claimed` ones are handled even while closing (they are this replica's). */
  #route(
    raw: string,
    channel: string,
    decoded: DecodedRequest | UndecodableMessage,
    claimed: boolean,
  ): void {
    if (isUndecodable(decoded)) {
      this.#complain('bad-request', channel, decoded.error, raw);
      if (decoded.replyTo !== null) {
        this.#reply(decoded.replyTo, encodeError(decoded.error, 'BAD_REQUEST', decoded.requestId));
      }
      return;
    }
    if (!this.#accepting && !claimed) {
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
  }

  /** Handles a request this replica claimed; a failed claim is logged, and told when Redis refused it. */
  #onClaim(
    outcome: ClaimOutcome,
    raw: string,
    channel: string,
    decoded: DecodedRequest | UndecodableMessage,
  ): void {
    if (outcome === 'won') {
      this.#route(raw, channel, decoded, true);
      return;
    }
    if (outcome === 'lost') return;
    const { error, tellCaller } = outcome;
    this.#complain('claim-failed', channel, error.message, raw);
    if (!tellCaller) return;
    const replyTo = decoded.replyTo ?? responsesChannel(this.#deps.app.service);
    this.#reply(replyTo, encodeError(error.message, error.code, decoded.requestId));
  }

  /** A listener for a broadcast channel that runs the given handlers. */
  listenerFor(handlers: readonly AnyListenHandler[]): (raw: string, channel: string) => void {
    return (raw, channel) => {
      if (!this.#accepting) return;
      if (exceedsBytes(raw, this.#deps.maxPayloadBytes)) {
        this.#complain('too-large', channel, this.#tooLarge(raw), raw);
        return;
      }
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

  #tooLarge(raw: string): string {
    const limit = this.#deps.maxPayloadBytes;
    return `message is ${Buffer.byteLength(raw, 'utf8')} bytes, over maxPayloadBytes (${limit})`;
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
