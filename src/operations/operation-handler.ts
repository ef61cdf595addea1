import { LogStream } from './operation-log-line.entity';
import { Operation, OperationResult, OperationStatus } from './operation.entity';

/** A failure a handler reports on purpose: the code and message land in the operation's `error`. */
export class OperationFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OperationFailure';
  }
}

/** What a running operation may do while it works. */
export interface OperationContext {
  /** Aborted when someone cancels the operation or the process shuts down. */
  readonly signal: AbortSignal;
  /** Moves progress forward (0-100; a lower value is ignored) with an optional message. */
  progress(percent: number, message?: string): Promise<void>;
  /** Sets the operation's message without moving progress. */
  message(text: string): Promise<void>;
  /** Keeps a line of output with the operation (written in batches). */
  log(stream: LogStream, text: string): void;
}

export interface StatusChange {
  status: OperationStatus;
  message: string;
  at: string;
}

/**
 * Carries out one type of operation. The module that owns the work registers it, so the engine
 * never imports that module.
 */
export interface OperationHandler {
  /** Does the work; resolves with the result, or throws (an {@link OperationFailure} ideally). */
  execute(operation: Operation, context: OperationContext): Promise<OperationResult>;
  /**
   * Runs inside the transaction that records `change` (repositories called here join it), so the
   * handler's records move with it.
   */
  onStatusChange(operation: Operation, change: StatusChange): Promise<void>;
}
