import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Logger } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  Equals,
  IsArray,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Min,
} from 'class-validator';
import { OperationFailure } from '../../operations/operation-handler';
import type { LogStream } from '../../operations/operation-log-line.entity';
import { OPERATION_MARKER } from '../../operations/process-reaper';
import { DeploymentJob, Driver, DriverRun } from '../driver';
import { IsStringMap } from '../settings-validators';

export class CommandSettings {
  @Equals('command')
  driver: 'command';

  /** The program and its arguments, run directly (never through a shell). */
  @IsArray()
  @ArrayMinSize(1)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  command: string[];

  /** Working directory; relative to the drivers file. Default: the drivers file's folder. */
  @IsOptional()
  @IsString()
  cwd?: string;

  /** Extra environment variables for the command. */
  @IsOptional()
  @IsStringMap()
  env?: Record<string, string>;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  timeout_seconds: number = 600;

  /** After SIGTERM (cancel, timeout), how long before SIGKILL. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  kill_grace_seconds: number = 10;
}

/** How many of the last output lines a failure message quotes. */
const TAIL_LINES = 10;
const PROGRESS_LINE = /^::progress\s+(\d+(?:\.\d+)?)\s*$/;
const MESSAGE_LINE = /^::message\s+(.+)$/;
/** Flightdeck's own settings, which the deploy command has no business seeing. */
const PRIVATE_VARIABLES = /^(FLIGHTDECK_|DATABASE_URL$|REDIS_URL$)/;

/**
 * Runs a program per deployment, with the deployment in `FLIGHTDECK_*` variables. Each output
 * line is kept as a log line; `::progress N` and `::message TEXT` lines report back. Exit 0 is
 * success. Cancel and timeout send SIGTERM to its process group, then SIGKILL. Where util-linux
 * `setpriv` can, the program is started through it so the kernel kills it when Flightdeck dies.
 */
export class CommandDriver implements Driver {
  private readonly cwd: string;
  private readonly wrapper = parentDeathWrapper();

  constructor(
    private readonly settings: CommandSettings,
    baseDir: string,
    /** Variables other drivers hold secrets in: never passed on to the command. */
    private readonly secretVariables: ReadonlySet<string> = new Set(),
  ) {
    this.cwd = resolve(baseDir, settings.cwd ?? '.');
  }

  async deploy(job: DeploymentJob, run: DriverRun): Promise<void> {
    const [program, ...args] = this.settings.command;
    const name = this.settings.command.join(' ');
    const env = this.environment(job);
    // Checked here because through the wrapper a missing program is only the wrapper's exit code.
    const problem = cannotExecute(program, this.cwd, env.PATH);
    if (problem)
      throw new OperationFailure('command_failed', `Could not start ${name}: ${problem}`);
    const [file, ...argv] = [...this.wrapper, program, ...args];
    const child = spawn(file, argv, {
      cwd: this.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so stopping it stops what it started too
    });
    const tail: string[] = [];
    const follow = (stream: LogStream, input: NodeJS.ReadableStream) =>
      createInterface({ input, crlfDelay: Infinity }).on('line', (line: string) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        run.log(stream, line);
        const progress = PROGRESS_LINE.exec(line);
        if (progress) void run.progress(Number(progress[1]));
        const message = MESSAGE_LINE.exec(line);
        if (message) void run.message(message[1]);
      });
    follow('stdout', child.stdout);
    follow('stderr', child.stderr);

    let stoppedBy: 'cancel' | 'timeout' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'cancel' | 'timeout') => {
      if (stoppedBy) return;
      stoppedBy = why;
      run.log(
        'system',
        `${why === 'cancel' ? 'Cancelled' : 'Timed out'}: sending SIGTERM to ${name}`,
      );
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        run.log(
          'system',
          `${name} still running after ${this.settings.kill_grace_seconds}s: sending SIGKILL`,
        );
        signalGroup(child.pid, 'SIGKILL');
      }, this.settings.kill_grace_seconds * 1000);
    };
    const onAbort = () => stop('cancel');
    run.signal.addEventListener('abort', onAbort, { once: true });
    const timeout = setTimeout(() => stop('timeout'), this.settings.timeout_seconds * 1000);

    try {
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (done, failed) => {
          child.once('error', (error) =>
            failed(
              new OperationFailure('command_failed', `Could not start ${name}: ${error.message}`),
            ),
          );
          child.once('close', (code, signal) => done({ code, signal }));
        },
      );
      if (stoppedBy === 'cancel') throw new Error('cancelled');
      if (stoppedBy === 'timeout') {
        throw new OperationFailure(
          'timeout',
          `${name} did not finish within ${this.settings.timeout_seconds}s and was stopped`,
        );
      }
      if (exit.code === 0) return;
      const how =
        exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const output = tail.length > 0 ? `; last output:\n${tail.join('\n')}` : '';
      throw new OperationFailure('command_failed', `${name} ${how}${output}`);
    } finally {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      run.signal.removeEventListener('abort', onAbort);
    }
  }

  private environment(job: DeploymentJob): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !PRIVATE_VARIABLES.test(key) && !this.secretVariables.has(key),
      ),
    );
    return {
      ...inherited,
      ...this.settings.env,
      FLIGHTDECK_DEPLOYMENT_ID: job.deploymentId,
      // Everything the command starts inherits it: how the recovery finds what a lost run left.
      [OPERATION_MARKER]: job.operationId,
      FLIGHTDECK_SERVICE: job.service,
      FLIGHTDECK_VERSION: job.version,
      FLIGHTDECK_ENVIRONMENT: job.environment,
      FLIGHTDECK_OPERATION: job.kind,
      FLIGHTDECK_PREVIOUS_VERSION: job.previousVersion ?? '',
    };
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

let wrapper: string[] | undefined;

/**
 * `setpriv --pdeathsig KILL --` when util-linux's setpriv has that option (Linux), else nothing:
 * then a command outlives a crash of Flightdeck until the next start reaps it, said once.
 */
function parentDeathWrapper(): string[] {
  wrapper ??= pdeathsigSetpriv();
  return wrapper;
}

function pdeathsigSetpriv(): string[] {
  const setpriv = findProgram('setpriv', process.env.PATH);
  try {
    const help = setpriv
      ? execFileSync(setpriv, ['--help'], { encoding: 'utf8', stdio: 'pipe' })
      : '';
    if (setpriv && help.includes('--pdeathsig')) return [setpriv, '--pdeathsig', 'KILL', '--'];
  } catch {
    // too old or broken: as good as missing
  }
  new Logger('CommandDriver').warn(
    'setpriv with --pdeathsig (util-linux) was not found: a deploy command keeps running if ' +
      'Flightdeck is killed, until Flightdeck starts again on this host and stops it',
  );
  return [];
}

/** Why `program` cannot be run (found as execvp would find it), or undefined when it can. */
function cannotExecute(program: string, cwd: string, path: string | undefined): string | undefined {
  if (program.includes('/')) {
    const file = resolve(cwd, program);
    if (!isFile(file)) return `${program}: no such file (ENOENT)`;
    return isExecutable(file) ? undefined : `${program} is not executable (EACCES)`;
  }
  return findProgram(program, path) ? undefined : `${program} was not found in PATH (ENOENT)`;
}

function findProgram(name: string, path = ''): string | undefined {
  return path
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => resolve(dir, name))
    .find((file) => isFile(file) && isExecutable(file));
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
