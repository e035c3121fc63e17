/** A failure the command line reports as one line, with its exit status. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** 1 when the call failed, 2 when the command line was wrong. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
