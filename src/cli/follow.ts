import { setTimeout as delay } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import type { components } from './api-schema';
import { FlightdeckClient, unwrap } from './client';
import { CliError, ExitCode } from './exit-codes';

type Operation = components['schemas']['OperationResponseDto'];

const POLL_MS = 500;
const FINISHED = ['succeeded', 'failed', 'cancelled'];

export interface FollowOptions {
  timeoutMs: number;
  /** Print log lines as they come. */
  logs: boolean;
  /** Draw a progress bar (a terminal) or print a line per change (CI logs). */
  tty: boolean;
  /** Where progress goes (stderr, so stdout stays for results). */
  out: NodeJS.WritableStream;
}

/**
 * Follows an operation until it finishes or the timeout passes, showing progress and streaming
 * its log lines. Resolves with the finished operation; a timeout is a CliError (exit 4).
 */
export async function followOperation(
  client: FlightdeckClient,
  id: string,
  options: FollowOptions,
): Promise<Operation> {
  const deadline = Date.now() + options.timeoutMs;
  const bar = options.tty
    ? new SingleBar({
        format: ' {bar} {percentage}% | {status} {message}',
        hideCursor: true,
        stream: options.out,
      })
    : undefined;
  let afterLine = 0;
  let lastShown = '';
  bar?.start(100, 0, { status: 'pending', message: '' });
  try {
    for (;;) {
      const operation = unwrap(
        await client.GET('/api/v1/operations/{id}', { params: { path: { id } } }),
      );
      if (options.logs) {
        const page = unwrap(
          await client.GET('/api/v1/operations/{id}/logs', {
            params: { path: { id }, query: { after: afterLine } },
          }),
        );
        afterLine = page.next;
        for (const line of page.lines) {
          if (bar) bar.stop();
          options.out.write(`${line.stream === 'stderr' ? '! ' : '  '}${line.text}\n`);
          if (bar)
            bar.start(100, operation.progress, {
              status: operation.status,
              message: operation.message ?? '',
            });
        }
      }
      const shown = `${operation.status} ${operation.progress}% ${operation.message ?? ''}`;
      if (bar)
        bar.update(operation.progress, {
          status: operation.status,
          message: operation.message ?? '',
        });
      else if (shown !== lastShown)
        options.out.write(
          `[${operation.status}] ${operation.progress}% ${operation.message ?? ''}\n`,
        );
      lastShown = shown;
      if (FINISHED.includes(operation.status)) return operation;
      if (Date.now() >= deadline) {
        throw new CliError(
          `Timed out after ${Math.round(options.timeoutMs / 1000)}s; operation ${id} is still ${operation.status} (${operation.progress}%)`,
          ExitCode.TimedOut,
        );
      }
      await delay(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
  } finally {
    bar?.stop();
  }
}

/** The exit code for a finished operation. */
export function exitCodeFor(operation: Operation): ExitCode {
  if (operation.status === 'succeeded') return ExitCode.Succeeded;
  if (operation.status === 'cancelled') return ExitCode.Cancelled;
  return ExitCode.Failed;
}

/** `30s`, `10m`, `1h` or plain seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new CliError(`Invalid duration '${text}': use e.g. 90s, 10m or 1h`, ExitCode.Usage);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * factor;
}
