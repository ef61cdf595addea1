import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { LogPage, OperationLogs } from './operation-logs';
import { FINISHED_OPERATION_STATUSES, Operation } from './operation.entity';
import { OperationsRepository } from './operations.repository';

const POLL_MS = 250;
const NO_LINES: LogPage = { lines: [], next: 0, dropped: 0 };

export interface WatchUpdate {
  operation: Operation;
  /** Log lines written since the previous update. */
  lines: LogPage['lines'];
  finished: boolean;
}

/**
 * Follows an operation by reading the database, so it works from any replica whichever one
 * runs the operation. Serves both long-polling and the event stream.
 */
@Injectable()
export class OperationWatcher {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly logs: OperationLogs,
  ) {}

  /**
   * Yields the operation on every change until it finishes or `signal` aborts, with the log lines
   * after `afterLine` (none when `afterLine` is null).
   */
  async *watch(
    id: string,
    options: { afterLine: number | null; signal: AbortSignal },
  ): AsyncGenerator<WatchUpdate> {
    let afterLine = options.afterLine;
    let lastSeen = '';
    while (!options.signal.aborted) {
      const operation = await this.operations.findById(id);
      if (!operation) return;
      const finished = FINISHED_OPERATION_STATUSES.includes(operation.status);
      const page = afterLine === null ? NO_LINES : await this.logs.page(id, afterLine, 1000);
      if (afterLine !== null) afterLine = page.next;
      const fingerprint = `${operation.status}|${operation.progress}|${operation.message}`;
      if (page.lines.length > 0 || fingerprint !== lastSeen || finished) {
        lastSeen = fingerprint;
        yield { operation, lines: page.lines, finished: finished && page.lines.length < 1000 };
      }
      if (finished && page.lines.length < 1000) return;
      try {
        await delay(POLL_MS, undefined, { signal: options.signal });
      } catch {
        return;
      }
    }
  }

  /** Resolves with the operation once it finishes, or as it is when `seconds` have passed. */
  async waitForEnd(id: string, seconds: number, signal: AbortSignal): Promise<Operation | null> {
    let latest: Operation | null = null;
    const until = AbortSignal.any([signal, AbortSignal.timeout(seconds * 1000)]);
    for await (const update of this.watch(id, { afterLine: null, signal: until }))
      latest = update.operation;
    return until.aborted ? this.operations.findById(id) : latest;
  }
}
