import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './cli-context.js';

/** One `daebus` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line, after `daebus`. */
  readonly usage: string;
  /** More help: arguments and examples. */
  readonly help: string;
  /** Options besides the shared ones (`--redis`, `--json`, `--timeout`, `--help`). */
  readonly options?: ParseArgsConfig['options'];
  /** Positional arguments required, at least. */
  readonly minArgs: number;
  /** Positional arguments allowed, at most (Infinity for any). */
  readonly maxArgs: number;
  run(context: CliContext, args: string[], values: Record<string, unknown>): Promise<void>;
}
