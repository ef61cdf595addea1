import { Injectable } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryFailedError } from 'typeorm';
import { EntityTable } from './entity-table';

/**
 * Runs units of work in a transaction. better-sqlite3 gives TypeORM a single connection, on which
 * two interleaved transactions would merge into one, so on SQLite writes take turns; PostgreSQL
 * uses its connection pool and its own locking.
 */
@Injectable()
export class Database {
  private readonly turns?: Mutex;

  constructor(readonly dataSource: DataSource) {
    if (dataSource.options.type === 'better-sqlite3') this.turns = new Mutex();
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

  /** Every write goes through here; `work` must not call `transaction` again. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const run = () => this.dataSource.transaction(work);
    return this.turns ? this.turns.runExclusive(run) : run();
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
