import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { OperationHandlerRegistry } from './operation-handler.registry';
import { Operation, OperationStatus } from './operation.entity';

export interface NewOperation {
  type: string;
  target: { type: string; id: string };
  scope: string;
  message: string;
}

/** Fields a transition writes, and what the row must still hold for it to apply. */
type TransitionFields = Partial<Omit<Operation, 'id' | 'type' | 'status'>>;
type Expectation = Partial<Pick<Operation, 'runnerId' | 'heartbeatAt'>>;

/**
 * The operation records: every write to them goes through here, and every status change runs
 * the handler's hook in the same transaction.
 */
@Injectable()
export class OperationStore {
  /** The operations table's prepared hot path (see {@link EntityTable}). */
  readonly table: EntityTable<Operation>;

  constructor(
    @InjectRepository(Operation) readonly repository: Repository<Operation>,
    private readonly db: Database,
    private readonly handlers: OperationHandlerRegistry,
  ) {
    this.table = db.table(Operation);
  }

  /** Writes a pending operation inside the caller's transaction; `dispatch` it after commit. */
  async createIn(
    manager: EntityManager,
    spec: NewOperation,
    id: string = uuidv7(),
  ): Promise<Operation> {
    const now = nowIso();
    const operation = manager.create(Operation, {
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
      runnerId: null,
      heartbeatAt: null,
      createdAt: now,
      startedAt: null,
      updatedAt: now,
      finishedAt: null,
    });
    await this.table.insert(manager, operation);
    return operation;
  }

  /**
   * Moves an operation to a new status if it is still in one of `from` (and matches `expect`),
   * in the same transaction as its handler's records. Returns null when it had already moved on.
   */
  async transition(
    id: string,
    from: OperationStatus[],
    fields: TransitionFields & { status: OperationStatus },
    message: string,
    expect: Expectation = {},
    /** More writes that belong with the change (a run's last log lines); not run when it had moved on. */
    alsoWrite?: (manager: EntityManager) => Promise<void>,
  ): Promise<Operation | null> {
    return this.db.transaction(async (manager) => {
      const at = nowIso();
      const [operation] = await this.table.update(
        manager,
        { id, status: from, ...expect },
        { ...fields, updatedAt: at },
      );
      if (!operation) return null;
      await alsoWrite?.(manager);
      await this.handlers.find(operation.type)?.onStatusChange(manager, operation, {
        status: operation.status,
        message,
        at,
      });
      return operation;
    });
  }

  /** Raises progress (never lowers it) and/or sets the message of a running operation. */
  async report(id: string, update: { progress?: number; message?: string }): Promise<void> {
    const { progress } = update; // a whole percent, 0–100: the ProgressWriter makes it so
    await this.db.transaction((manager) => {
      const query = manager
        .createQueryBuilder()
        .update(Operation)
        .set({
          ...(progress !== undefined ? { progress } : {}),
          ...(update.message !== undefined ? { message: update.message.slice(0, 1000) } : {}),
          updatedAt: nowIso(),
        })
        .where('id = :id AND status = :status', { id, status: OperationStatus.Running });
      if (progress !== undefined) query.andWhere('progress <= :progress', { progress });
      return query.execute();
    });
  }

  findById(id: string): Promise<Operation | null> {
    return this.table.findOne({ id });
  }

  /** Flags a running operation to stop; its runner notices and ends it `cancelled`. */
  async requestCancel(id: string): Promise<void> {
    await this.db.transaction((m) =>
      m.update(
        Operation,
        { id, status: OperationStatus.Running },
        { cancelRequested: true, updatedAt: nowIso() },
      ),
    );
  }

  /**
   * Records that `runnerId` still works on the operation. Says whether it should go on
   * (`running`), was asked to stop (`cancel`), or is no longer its to run (`lost`).
   */
  async heartbeat(id: string, runnerId: string): Promise<'running' | 'cancel' | 'lost'> {
    const { affected } = await this.db.transaction((m) =>
      m.update(
        Operation,
        { id, runnerId, status: OperationStatus.Running },
        { heartbeatAt: nowIso() },
      ),
    );
    if (!affected) return 'lost';
    const row = await this.repository.findOne({
      where: { id },
      select: { id: true, cancelRequested: true },
    });
    return row?.cancelRequested ? 'cancel' : 'running';
  }

  /** How many operations wait to run and how many run, across every replica. */
  async depth(): Promise<{ pending: number; running: number }> {
    const [pending, running] = await Promise.all([
      this.repository.countBy({ status: OperationStatus.Pending }),
      this.repository.countBy({ status: OperationStatus.Running }),
    ]);
    return { pending, running };
  }
}
