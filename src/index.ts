export type {
  ActionMap,
  ActionSpec,
  PayloadOf,
  ResultOf,
  UntypedActions,
} from './app/contracts.js';
export type {
  ActionHandler,
  AppStatus,
  DaebusEvents,
  ListenHandler,
  StartHook,
  WorkerTaskOptions,
} from './app/daebus.js';
export { Daebus } from './app/daebus.js';
export type { ActionContext, ListenContext } from './app/handler-context.js';
export type { HeartbeatMessage } from './app/heartbeat.js';
export type { PingReply, TaskOp, TaskReply, TasksReply } from './app/introspection.js';
export type { DaebusOptions, RedisSetting, RunOptions } from './app/options.js';
export { DEFAULTS } from './app/options.js';
export type { ReplicaMode } from './app/request-claims.js';
export type { CallerOptions, RequestOptions } from './caller/daebus-caller.js';
export { DaebusCaller } from './caller/daebus-caller.js';
export type { Broadcast } from './context/globals.js';
export { broadcast, cache, directLogger, logger, request, response } from './context/globals.js';
export { Request } from './context/request.js';
export type { ErrorOptions, SendOptions } from './context/response.js';
export { Response } from './context/response.js';
export type { DaebusErrorCode } from './errors/daebus-error.js';
export { DaebusError } from './errors/daebus-error.js';
export type { LogFormat, Logger, LoggerOptions } from './logging/logger.js';
export { HEARTBEAT_CHANNEL, RESERVED_PREFIX } from './protocol/names.js';
export type { WireRequest } from './protocol/wire-request.js';
export type { ErrorPayload, WireResponse } from './protocol/wire-response.js';
export type { TaskStats } from './scheduler/background-task.js';
export { BackgroundTask } from './scheduler/background-task.js';
export type { RunRecord, RunResult } from './scheduler/run-records.js';
export type { TaskEvent, TaskEventMap, TaskEventName } from './scheduler/task-events.js';
export type { TaskInfo } from './scheduler/task-info.js';
export type {
  AfterOptions,
  BackgroundOptions,
  MisfirePolicy,
  OverlapPolicy,
  RetryOptions,
  ScheduleSpec,
} from './scheduler/task-options.js';
export type {
  RunOutcome,
  TaskFunction,
  TaskKind,
  TaskRun,
  WorkerTaskRun,
} from './scheduler/task-state.js';
export { MemoryBus } from './transport/memory/memory-bus.js';
export { MemoryTransport } from './transport/memory/memory-transport.js';
export type { RedisTransportOptions } from './transport/redis/redis-transport.js';
export { RedisTransport } from './transport/redis/redis-transport.js';
export type {
  MessageListener,
  Transport,
  TransportStatus,
  Unsubscribe,
} from './transport/transport.js';
export { VERSION } from './version.js';
