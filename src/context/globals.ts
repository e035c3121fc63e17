import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DaebusError } from '../errors/daebus-error.js';
import { createLogger } from '../logging/logger.js';
import { validateName } from '../protocol/names.js';
import type { Request } from './request.js';
import type { Response } from './response.js';
import { currentApp, soleRunningApp } from './running-apps.js';
import { currentContext, type MessageContext } from './store.js';

function messageContext(what: 'request' | 'response'): MessageContext {
  const context = currentContext();
  if (context === undefined || context.kind === 'task') {
    const where = context === undefined ? 'outside any handler' : `in task "${context.taskName}"`;
    throw new DaebusError(
      'NO_CONTEXT',
      `\`${what}\` is only available inside an action${what === 'request' ? ' or listen' : ''} handler; it was used ${where}`,
    );
  }
  return context;
}

/**
 * The message the current handler is working on (`request.payload`,
 * `request.action`, `request.replyTo`…). Using it outside an action or
 * listen handler throws a `DaebusError` with code `NO_CONTEXT`.
 */
export const request: Request = Object.freeze({
  get action() {
    return messageContext('request').request.action;
  },
  get payload() {
    return messageContext('request').request.payload;
  },
  get replyTo() {
    return messageContext('request').request.replyTo;
  },
  get requestId() {
    return messageContext('request').request.requestId;
  },
  get service() {
    return messageContext('request').request.service;
  },
  get channel() {
    return messageContext('request').request.channel;
  },
}) as Request;

function currentResponse(): Response {
  const context = messageContext('response');
  if (context.response === null) {
    throw new DaebusError(
      'NO_CONTEXT',
      `\`response\` is not available in a listen handler (channel "${context.request.channel}"): a broadcast has nobody to answer`,
    );
  }
  return context.response;
}

/**
 * Answers the request the current action handler is working on:
 * `response.send(payload, { final? })` and `response.error(err, { code? })`.
 * Using it outside an action handler throws a `DaebusError` (`NO_CONTEXT`).
 */
export const response: Pick<Response, 'send' | 'error' | 'finished' | 'channel'> = Object.freeze({
  send: (payload: unknown, options?: { final?: boolean }) =>
    currentResponse().send(payload, options),
  error: (err: unknown, options?: { code?: string }) => currentResponse().error(err, options),
  get finished() {
    return currentResponse().finished;
  },
  get channel() {
    return currentResponse().channel;
  },
});

/** Publishes broadcasts from the current app. */
export interface Broadcast {
  /**
   * Publishes `payload` (a plain object) as JSON on `channel`; resolves with
   * the number of receivers.
   *
   * @example
   * broadcast.send('data_events', { type: 'data_refreshed', timestamp: Date.now() / 1000 });
   */
  send(channel: string, payload: Record<string, unknown>): Promise<number>;
}

/** Broadcasts from the app whose handler or task is running (or the only running app). */
export const broadcast: Broadcast = Object.freeze({
  send(channel: string, payload: Record<string, unknown>): Promise<number> {
    const app = currentApp('broadcast.send');
    validateName('channel', channel);
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      const got = payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload;
      throw new DaebusError('BAD_REQUEST', `broadcast payload must be a plain object, got ${got}`);
    }
    let message: string;
    try {
      message = JSON.stringify(payload);
    } catch (err) {
      throw new DaebusError(
        'BAD_REQUEST',
        `broadcast payload for "${channel}" cannot be encoded as JSON: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return app.publish(channel, message);
  },
});

/**
 * The running app's Redis client (ioredis), for keys and any other command.
 * On the in-memory transport there is none, and using it throws a
 * `DaebusError` with code `NO_CACHE`.
 */
export const cache: Redis = new Proxy({} as Redis, {
  get(_target, property) {
    const app = currentApp('cache');
    const client = app.cacheClient;
    if (client === null) {
      throw new DaebusError(
        'NO_CACHE',
        `cache needs the Redis transport; service "${app.service}" runs on the in-memory transport`,
      );
    }
    const value = Reflect.get(client, property, client);
    return typeof value === 'function' ? value.bind(client) : value;
  },
});

let fallbackLogger: Logger | undefined;

function baseLogger(): Logger {
  const context = currentContext();
  if (context !== undefined) return context.app.log;
  const app = soleRunningApp();
  if (app !== undefined) return app.log;
  fallbackLogger ??= createLogger('daebus');
  return fallbackLogger;
}

function delegatingLogger(resolve: () => Logger): Logger {
  return new Proxy({} as Logger, {
    get(_target, property) {
      const target = resolve();
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The logger of the code running now: inside an action, listen handler or
 * task its lines carry that name (`action`, `channel` or `task`); elsewhere
 * it is the service's logger.
 */
export const logger: Logger = delegatingLogger(() => currentContext()?.logger ?? baseLogger());

/** The service's base logger, with no per-handler bindings; safe anywhere. */
export const directLogger: Logger = delegatingLogger(baseLogger);
