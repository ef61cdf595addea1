import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Operation, OperationStatus } from './operation.entity';

/** Which operations a list shows; a scope list means any of them (empty: none). */
export interface OperationFilter {
  status?: OperationStatus;
  type?: string;
  scope?: readonly string[];
}

/** What a finished run writes besides its status. */
export type RunOutcome = Pick<Operation, 'status'> &
  Partial<Pick<Operation, 'progress' | 'message' | 'result' | 'errorCode' | 'errorMessage'>>;

/**
 * The `operations` table. Each status change is a conditional update that answers the row it
 * changed, or nothing when the operation had already moved on (another runner claimed it, a
 * sweep failed it): that is how two runners never both run one operation.
 */
@Injectable()
export class OperationsRepository {
  private readonly table: EntityTable<Operation>;

  constructor(db: Database) {
    this.table = db.table(Operation);
  }

  insert(operation: Operation): Promise<void> {
    return this.table.insert(operation);
  }

  findById(id: string): Promise<Operation | null> {
    return this.table.findOne({ id });
  }

  /** A page of the list, newest first, and (paging by number) how many match in all. */
  pageNewestFirst(
    filter: OperationFilter,
    window: PageWindow,
  ): Promise<{ rows: Operation[]; total?: number }> {
    return this.table.findPage({ where: filter, order: NEWEST_FIRST, ...window });
  }

  /** `pending` → `running` for `runnerId`, unless another runner took it first. */
  async claim(id: string, runnerId: string, at: string): Promise<Operation | null> {
    const [claimed] = await this.table.update(
      { id, status: OperationStatus.Pending },
      { status: OperationStatus.Running, runnerId, startedAt: at, heartbeatAt: at, updatedAt: at },
    );
    return claimed ?? null;
  }

  /** Records the outcome of a run, if the operation is still `running` for `runnerId`. */
  async finish(
    id: string,
    runnerId: string,
    outcome: RunOutcome,
    at: string,
  ): Promise<Operation | null> {
    const [finished] = await this.table.update(
      { id, status: OperationStatus.Running, runnerId },
      { ...outcome, finishedAt: at, updatedAt: at },
    );
    return finished ?? null;
  }

  /** `pending` → `cancelled`, if nobody claimed it yet. */
  async cancelPending(id: string, message: string, at: string): Promise<Operation | null> {
    const [cancelled] = await this.table.update(
      { id, status: OperationStatus.Pending },
      { status: OperationStatus.Cancelled, message, finishedAt: at, updatedAt: at },
    );
    return cancelled ?? null;
  }

  /**
   * Fails a `running` operation whose runner stopped sending heartbeats, if it is still as the
   * sweep read it (the same runner, the same last heartbeat).
   */
  async failLost(
    lost: Pick<Operation, 'id' | 'runnerId' | 'heartbeatAt'>,
    error: { code: string; message: string },
    at: string,
  ): Promise<Operation | null> {
    const [failed] = await this.table.update(
      {
        id: lost.id,
        status: OperationStatus.Running,
        runnerId: lost.runnerId,
        heartbeatAt: lost.heartbeatAt,
      },
      {
        status: OperationStatus.Failed,
        errorCode: error.code,
        errorMessage: error.message,
        message: error.message,
        finishedAt: at,
        updatedAt: at,
      },
    );
    return failed ?? null;
  }

  /** Raises the progress of a running operation (never lowers it) and/or sets its message. */
  async raiseProgress(
    id: string,
    update: { progress?: number; message?: string },
    at: string,
  ): Promise<void> {
    // Only while the stored progress is not above the new one: never lowered.
    const notAbove =
      update.progress === undefined ? {} : { progress: range({ atMost: update.progress }) };
    await this.table.update(
      { id, status: OperationStatus.Running, ...notAbove },
      { progress: update.progress, message: update.message, updatedAt: at },
    );
  }

  /** Flags a running operation to stop. */
  async requestCancel(id: string, at: string): Promise<void> {
    await this.table.update(
      { id, status: OperationStatus.Running },
      { cancelRequested: true, updatedAt: at },
    );
  }

  /** Records `runnerId`'s heartbeat; answers the operation, or null when it is no longer its to run. */
  async heartbeat(id: string, runnerId: string, at: string): Promise<Operation | null> {
    const [running] = await this.table.update(
      { id, runnerId, status: OperationStatus.Running },
      { heartbeatAt: at },
    );
    return running ?? null;
  }

  /** Running operations whose last heartbeat is older than `cutoff`. */
  findAbandoned(cutoff: string, limit: number): Promise<Operation[]> {
    return this.table.find({
      where: { status: OperationStatus.Running, heartbeatAt: range({ below: cutoff }) },
      limit,
    });
  }

  /** Pending operations created before `cutoff` (nobody picked them up), oldest first. */
  findWaiting(cutoff: string, limit: number): Promise<Operation[]> {
    return this.table.find({
      where: { status: OperationStatus.Pending, createdAt: range({ below: cutoff }) },
      order: [['createdAt', 'ASC']],
      limit,
    });
  }

  /** Which of `ids` failed with `errorCode`. */
  async findFailedWith(ids: string[], errorCode: string): Promise<string[]> {
    const failed = await this.table.find({
      where: { id: ids, status: OperationStatus.Failed, errorCode },
    });
    return failed.map((operation) => operation.id);
  }

  countWithStatus(status: OperationStatus): Promise<number> {
    return this.table.count({ status });
  }
}
