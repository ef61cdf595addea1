import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryFailedError } from 'typeorm';
import { EntityTable } from './entity-table';

/** Units of work committed together at most, on SQLite. */
const MAX_GROUP = 100;

interface Unit {
  work: (manager: EntityManager) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs units of work in a transaction. PostgreSQL uses its connection pool and its own locking.
 * better-sqlite3 gives TypeORM a single connection, on which two interleaved transactions would
 * merge into one, so on SQLite units take turns — and commit in groups: the units that queue up
 * while a group runs form the next one, one transaction in which each unit is a savepoint (a unit
 * that fails undoes only its own writes). A commit writes every page the transaction touched, the
 * index pages of recent rows among them, so one commit for many units is much of the cost of a
 * write under load (docs/decisions/016).
 */
@Injectable()
export class Database {
  private readonly queue?: Unit[];
  private draining = false;

  constructor(readonly dataSource: DataSource) {
    if (dataSource.options.type === 'better-sqlite3') this.queue = [];
  }

  /** The prepared hot path of an entity's table (see {@link EntityTable}). */
  table<T extends ObjectLiteral>(target: EntityTarget<T>): EntityTable<T> {
    return new EntityTable(this.dataSource, target);
  }

  /**
   * Runs `work` inside `manager`'s transaction as a savepoint: if it fails, only its own writes are
   * undone and the transaction goes on. Answers whether it succeeded, and why not.
   */
  async savepoint(
    manager: EntityManager,
    work: () => Promise<void>,
  ): Promise<{ ok: true } | { ok: false; error: unknown }> {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) throw new Error('a savepoint needs a transaction');
    await runner.startTransaction(); // nested: SAVEPOINT
    try {
      await work();
      await runner.commitTransaction(); // RELEASE SAVEPOINT
      return { ok: true };
    } catch (error) {
      await runner.rollbackTransaction(); // ROLLBACK TO SAVEPOINT
      return { ok: false, error };
    }
  }

  /**
   * Every write goes through here; `work` must not call `transaction` again. Settles once its
   * transaction has committed (or failed).
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const queue = this.queue;
    if (!queue) return this.dataSource.transaction(work);
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      void this.drain(queue);
    });
  }

  private async drain(queue: Unit[]): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (queue.length > 0) {
        // better-sqlite3 answers at once, so a group would never outlast a turn of the event loop:
        // waiting one lets the requests already read off the sockets queue their units too.
        await new Promise((resolve) => setImmediate(resolve));
        await this.commitGroup(queue.splice(0, MAX_GROUP));
      }
    } finally {
      this.draining = false;
    }
  }

  /** One transaction for the group; each unit in a savepoint unless it is alone. */
  private async commitGroup(group: Unit[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let failure: { error: unknown } | undefined;
    try {
      await this.dataSource.transaction(async (manager) => {
        if (group.length === 1) {
          outcomes.push({ ok: true, value: await group[0].work(manager) });
          return;
        }
        for (const unit of group) {
          let value: unknown;
          const result = await this.savepoint(manager, async () => {
            value = await unit.work(manager);
          });
          outcomes.push(result.ok ? { ok: true, value } : result);
        }
      });
    } catch (error) {
      failure = { error }; // nothing was committed: a unit alone failed, or the commit itself
    }
    for (const [i, unit] of group.entries()) {
      const outcome = outcomes[i];
      if (outcome && !outcome.ok) unit.reject(outcome.error);
      else if (failure || !outcome) unit.reject(failure?.error);
      else unit.resolve(outcome.value);
    }
  }
}

/** True when a write failed on a unique index or primary key, on either database. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code ?? '';
  return (
    code === '23505' ||
    code.startsWith('SQLITE_CONSTRAINT_UNIQUE') ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
