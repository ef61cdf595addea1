import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { Operation, OperationStatus } from './operation.entity';
import { OperationsRepository, RunOutcome } from './operations.repository';

export interface NewOperation {
  type: string;
  target: { type: string; id: string };
  scope: string;
  message: string;
  /** Not to be started until {@link OperationStore.release}d. */
  held?: boolean;
}

/**
 * Changes to operations: every status change runs its handler's hook in the same transaction,
 * so the records of the work it carries out (a deployment's status) move with it.
 */
@Injectable()
export class OperationStore {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly db: Database,
    private readonly handlers: OperationHandlerRegistry,
  ) {}

  /** Writes a pending operation in the current transaction; `dispatch` it after the commit. */
  async create(spec: NewOperation, id: string = uuidv7()): Promise<Operation> {
    const now = nowIso();
    const operation: Operation = Object.assign(new Operation(), {
      id,
      type: spec.type,
      status: OperationStatus.Pending,
      progress: 0,
      targetType: spec.target.type,
      targetId: spec.target.id,
      scope: spec.scope,
      message: spec.message,
      errorCode: null,
      errorMessage: null,
      result: null,
      cancelRequested: false,
      held: spec.held ?? false,
      runnerId: null,
      heartbeatAt: null,
      createdAt: now,
      startedAt: null,
      updatedAt: now,
      finishedAt: null,
    });
    await this.operations.insert(operation);
    return operation;
  }

  /** Takes a pending operation for `runnerId`; null when another runner has it. */
  claim(id: string, runnerId: string): Promise<Operation | null> {
    return this.transition((at) => this.operations.claim(id, runnerId, at), 'Started');
  }

  /**
   * Records how `runnerId`'s run ended, with `alsoWrite` (its last log lines) in the same
   * transaction; null when the operation was taken from it meanwhile.
   */
  finish(
    id: string,
    runnerId: string,
    outcome: RunOutcome & { message: string },
    alsoWrite: () => Promise<void>,
  ): Promise<Operation | null> {
    return this.transition(
      (at) => this.operations.finish(id, runnerId, outcome, at),
      outcome.message,
      alsoWrite,
    );
  }

  /** Cancels an operation nobody has claimed yet; null when it already runs or ended. */
  cancelPending(id: string, by: string): Promise<Operation | null> {
    return this.transition(
      (at) => this.operations.cancelPending(id, by, at),
      `${by} before it started`,
    );
  }

  /**
   * In the current transaction: cancels a pending operation (held or not) and runs its handler's
   * hook; null when it already runs or ended.
   */
  cancelPendingHere(id: string, by: string): Promise<Operation | null> {
    return this.change((at) => this.operations.cancelPending(id, by, at), by);
  }

  /** In the current transaction: lets a held operation start once dispatched. */
  release(id: string): Promise<boolean> {
    return this.operations.release(id, nowIso());
  }

  /** Fails an operation whose runner stopped, unless it changed since the sweep read it. */
  failLost(
    lost: Pick<Operation, 'id' | 'runnerId' | 'heartbeatAt'>,
    error: { code: string; message: string },
  ): Promise<Operation | null> {
    return this.transition((at) => this.operations.failLost(lost, error, at), error.message);
  }

  /** Raises progress (never lowers it) and/or sets the message of a running operation. */
  async report(id: string, update: { progress?: number; message?: string }): Promise<void> {
    // progress is a whole percent, 0–100: the ProgressWriter makes it so
    const message = update.message?.slice(0, 1000);
    await this.db.transaction(() =>
      this.operations.raiseProgress(id, { progress: update.progress, message }, nowIso()),
    );
  }

  /** Flags a running operation to stop; its runner notices and ends it `cancelled`. */
  async requestCancel(id: string): Promise<void> {
    await this.db.transaction(() => this.operations.requestCancel(id, nowIso()));
  }

  /**
   * Records that `runnerId` still works on the operation. Says whether it should go on
   * (`running`), was asked to stop (`cancel`), or is no longer its to run (`lost`).
   */
  async heartbeat(id: string, runnerId: string): Promise<'running' | 'cancel' | 'lost'> {
    const operation = await this.db.transaction(() =>
      this.operations.heartbeat(id, runnerId, nowIso()),
    );
    if (!operation) return 'lost';
    return operation.cancelRequested ? 'cancel' : 'running';
  }

  /**
   * A status change (`change` answers the row it moved, or null when the operation had moved on)
   * and its handler's hook, in one transaction.
   */
  private transition(
    change: (at: string) => Promise<Operation | null>,
    message: string,
    alsoWrite?: () => Promise<void>,
  ): Promise<Operation | null> {
    return this.db.transaction(() => this.change(change, message, alsoWrite));
  }

  /** {@link transition}, in the current transaction. */
  private async change(
    change: (at: string) => Promise<Operation | null>,
    message: string,
    alsoWrite?: () => Promise<void>,
  ): Promise<Operation | null> {
    const at = nowIso();
    const operation = await change(at);
    if (!operation) return null;
    await alsoWrite?.();
    await this.handlers.find(operation.type)?.onStatusChange(operation, {
      status: operation.status,
      message,
      at,
    });
    return operation;
  }
}
