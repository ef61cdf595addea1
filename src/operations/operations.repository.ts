import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
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

const EXAMPLE_OPERATION: Operation = {
  id: Example.id,
  type: 'deployment.rollout',
  status: OperationStatus.Pending,
  progress: 0,
  targetType: 'deployment',
  targetId: Example.otherId,
  scope: 'production',
  message: 'Requested by ci',
  errorCode: null,
  errorMessage: null,
  result: null,
  cancelRequested: false,
  held: false,
  runnerId: null,
  heartbeatAt: null,
  createdAt: Example.time,
  startedAt: null,
  updatedAt: Example.time,
  finishedAt: null,
};

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

  @GenerateSql({ params: [EXAMPLE_OPERATION] })
  insert(operation: Operation): Promise<void> {
    return this.table.insert(operation);
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Operation | null> {
    return this.table.findOne({ id });
  }

  /** The operations with these ids (those that exist), in no particular order. */
  @GenerateSql({ params: [[Example.id, Example.otherId]] })
  findByIds(ids: readonly string[]): Promise<Operation[]> {
    return this.table.find({ where: { id: ids } });
  }

  /** A page of the list, newest first, and (paging by number) how many match in all. */
  @GenerateSql(
    { name: 'first page', params: [{}, { limit: 51, offset: 0 }] },
    {
      name: 'a key limited to one environment, by status and type',
      params: [
        { status: OperationStatus.Running, type: 'deployment.rollout', scope: ['staging'] },
        { limit: 51, offset: 0 },
      ],
    },
    { name: 'after a cursor', params: [{}, { limit: 51, after: [Example.time, Example.id] }] },
  )
  pageNewestFirst(
    filter: OperationFilter,
    window: PageWindow,
  ): Promise<{ rows: Operation[]; total?: number }> {
    return this.table.findPage({ where: filter, order: NEWEST_FIRST, ...window });
  }

  /** `pending` → `running` for `runnerId`, unless another runner took it first or it is held. */
  @GenerateSql({ params: [Example.id, 'host:1234:abcd1234', Example.time] })
  async claim(id: string, runnerId: string, at: string): Promise<Operation | null> {
    const [claimed] = await this.table.update(
      { id, status: OperationStatus.Pending, held: false },
      { status: OperationStatus.Running, runnerId, startedAt: at, heartbeatAt: at, updatedAt: at },
    );
    return claimed ?? null;
  }

  /** Records the outcome of a run, if the operation is still `running` for `runnerId`. */
  @GenerateSql({
    params: [
      Example.id,
      'host:1234:abcd1234',
      {
        status: OperationStatus.Succeeded,
        progress: 100,
        message: 'Succeeded',
        result: { version: '1.4.2' },
      },
      Example.time,
    ],
  })
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

  /** Lets a held pending operation be started; answers whether it was held and pending. */
  @GenerateSql({ params: [Example.id, Example.time] })
  async release(id: string, at: string): Promise<boolean> {
    const released = await this.table.update(
      { id, status: OperationStatus.Pending, held: true },
      { held: false, updatedAt: at },
    );
    return released.length > 0;
  }

  /** `pending` → `cancelled`, if nobody claimed it yet. */
  @GenerateSql({ params: [Example.id, 'Cancelled by ci', Example.time] })
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
  @GenerateSql({
    params: [
      { id: Example.id, runnerId: 'host:1234:abcd1234', heartbeatAt: Example.time },
      { code: 'runner_lost', message: 'The runner stopped' },
      Example.laterTime,
    ],
  })
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
  @GenerateSql(
    {
      name: 'progress and message',
      params: [Example.id, { progress: 40, message: 'Halfway' }, Example.time],
    },
    {
      name: 'message only',
      params: [Example.id, { message: 'Waiting for health checks' }, Example.time],
    },
  )
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
  @GenerateSql({ params: [Example.id, Example.time] })
  async requestCancel(id: string, at: string): Promise<void> {
    await this.table.update(
      { id, status: OperationStatus.Running },
      { cancelRequested: true, updatedAt: at },
    );
  }

  /** Records `runnerId`'s heartbeat; answers the operation, or null when it is no longer its to run. */
  @GenerateSql({ params: [Example.id, 'host:1234:abcd1234', Example.time] })
  async heartbeat(id: string, runnerId: string, at: string): Promise<Operation | null> {
    const [running] = await this.table.update(
      { id, runnerId, status: OperationStatus.Running },
      { heartbeatAt: at },
    );
    return running ?? null;
  }

  /** Running operations whose last heartbeat is older than `cutoff`. */
  @GenerateSql({ params: [Example.time, 100] })
  findAbandoned(cutoff: string, limit: number): Promise<Operation[]> {
    return this.table.find({
      where: { status: OperationStatus.Running, heartbeatAt: range({ below: cutoff }) },
      limit,
    });
  }

  /** Pending operations created before `cutoff` (nobody picked them up), oldest first; not held ones. */
  @GenerateSql({ params: [Example.time, 100] })
  findWaiting(cutoff: string, limit: number): Promise<Operation[]> {
    return this.table.find({
      where: { status: OperationStatus.Pending, held: false, createdAt: range({ below: cutoff }) },
      order: [['createdAt', 'ASC']],
      limit,
    });
  }

  /** Which of `ids` failed with `errorCode`. */
  @GenerateSql({ params: [[Example.id, Example.otherId], 'runner_lost'] })
  async findFailedWith(ids: string[], errorCode: string): Promise<string[]> {
    const failed = await this.table.find({
      where: { id: ids, status: OperationStatus.Failed, errorCode },
    });
    return failed.map((operation) => operation.id);
  }

  @GenerateSql({ params: [OperationStatus.Pending] })
  countWithStatus(status: OperationStatus): Promise<number> {
    return this.table.count({ status });
  }
}
