import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { LogStream, OperationLogLine } from './operation-log-line.entity';
import { OperationLogLinesRepository } from './operation-log-lines.repository';
import { toLogLineResponse } from './operation.mapper';

/** Longer lines are cut: a log is for people, not for dumping files. */
const MAX_LINE_CHARS = 4096;
const FLUSH_EVERY_MS = 200;
const FLUSH_AT_LINES = 200;

/** PostgreSQL refuses NUL in text: it is dropped (the rest of the line is kept). */
const printable = (text: string): string => text.replaceAll('\0', '');

export interface LogPage {
  lines: Array<Pick<OperationLogLine, 'n' | 'at' | 'stream' | 'text'>>;
  /** Pass as `after` to get the lines after these. */
  next: number;
  /** How many of the oldest lines were dropped to keep the log within its bound. */
  dropped: number;
}

/** Collects one run's output and writes it in batches, keeping the newest lines within the bound. */
export class LogWriter {
  private buffer: OperationLogLine[] = [];
  private timer?: NodeJS.Timeout;
  private flushing = Promise.resolve();

  constructor(
    private readonly logs: OperationLogs,
    private readonly operationId: string,
    private lastN: number,
  ) {}

  write(stream: LogStream, text: string): void {
    this.buffer.push(
      Object.assign(new OperationLogLine(), {
        operationId: this.operationId,
        n: ++this.lastN,
        at: nowIso(),
        stream,
        text: printable(
          text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}… (cut)` : text,
        ),
      }),
    );
    if (this.buffer.length >= FLUSH_AT_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_EVERY_MS);
  }

  /**
   * For the end of a run: waits for the batches under way and hands over the lines not written
   * yet, which the run's final status change then stores in its own transaction.
   */
  async takeUnwritten(): Promise<OperationLogLine[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    const lines = this.buffer;
    this.buffer = [];
    return lines;
  }

  /** Writes what is buffered, after the batches under way. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.buffer;
    this.buffer = [];
    if (lines.length > 0)
      this.flushing = this.flushing.then(() => this.logs.store(this.operationId, lines));
  }
}

@Injectable()
export class OperationLogs {
  private readonly logger = new Logger('OperationLogs');

  constructor(
    private readonly lines: OperationLogLinesRepository,
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  /** A writer that numbers lines on from those the operation already has. */
  async writer(operationId: string): Promise<LogWriter> {
    return new LogWriter(this, operationId, await this.lines.lastNumber(operationId));
  }

  async page(operationId: string, after: number, limit: number): Promise<LogPage> {
    const [lines, oldest] = await Promise.all([
      this.lines.pageAfter(operationId, after, limit),
      this.lines.firstNumber(operationId),
    ]);
    return {
      lines: lines.map(toLogLineResponse),
      next: lines.length > 0 ? lines[lines.length - 1].n : after,
      dropped: oldest ? oldest - 1 : 0,
    };
  }

  /**
   * Inserts a batch in the current transaction, then drops the oldest lines beyond the bound. It
   * never takes the transaction's other writes down with it: a failure undoes only the lines (a
   * savepoint), and is logged.
   */
  async storeIn(operationId: string, batch: OperationLogLine[]): Promise<void> {
    if (batch.length === 0) return;
    const keep = this.config.logLinesPerOperation;
    const newest = batch[batch.length - 1].n;
    const stored = await this.db.savepoint(async () => {
      await this.lines.insertAll(batch.slice(-keep));
      if (newest > keep) await this.lines.deleteUpTo(operationId, newest - keep);
    });
    if (!stored.ok) this.warnNotStored(operationId, batch.length, stored.error);
  }

  /** {@link storeIn} in a transaction of its own; a failure is logged, the run goes on. */
  async store(operationId: string, batch: OperationLogLine[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.db.transaction(() => this.storeIn(operationId, batch));
    } catch (error) {
      this.warnNotStored(operationId, batch.length, error);
    }
  }

  private warnNotStored(operationId: string, lines: number, error: unknown): void {
    this.logger.warn(
      `could not store ${lines} log line(s) of operation ${operationId}: ${String(error)}`,
    );
  }
}
