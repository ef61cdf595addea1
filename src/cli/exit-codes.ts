/** What the CLI's exit status means, for pipelines to branch on. */
export enum ExitCode {
  Succeeded = 0,
  Failed = 1,
  Usage = 2,
  Auth = 3,
  TimedOut = 4,
  Cancelled = 5,
  Unreachable = 6,
  /** A gate (lock, freeze, promotion) stopped the request, or the deployment was rejected. */
  Blocked = 7,
}

/** A failure the CLI reports in one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** The exit code for an API error answer (`error`: its error code). */
export function exitCodeForStatus(status: number, error?: string): ExitCode {
  if (error === 'deployment_blocked') return ExitCode.Blocked;
  if (status === 401 || status === 403) return ExitCode.Auth;
  if (status === 400 || status === 404 || status === 413 || status === 422) return ExitCode.Usage;
  return ExitCode.Failed;
}
