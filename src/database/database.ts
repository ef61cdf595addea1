import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { Pool, PoolClient } from 'pg';
import { DataSource, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import { EntityTable } from './entity-table';

/** Connections in TypeORM's PostgreSQL pool, where transactions run. */
export const MAX_POOL_CONNECTIONS = 20;
/** Connections in the PostgreSQL pool for reads outside a transaction. */
const READ_POOL_CONNECTIONS = 10;
/** Units of work committed together at most, on SQLite. */
const MAX_GROUP = 100;

export type Dialect = 'sqlite' | 'postgres';

type SqliteConnection = BetterSqlite3.Database;
type SqliteStatement = BetterSqlite3.Statement;

/** The transaction of the current async context, as repositories reach it. */
interface Transaction {
  /** TypeORM's, for savepoints. */
  runner: QueryRunner;
  /** Its connection: better-sqlite3's one, or the pg client TypeORM took from its pool. */
  connection: SqliteConnection | PoolClient;
  /** False once it has ended: async work it started and left running is outside it then. */
  open: boolean;
}

interface Unit {
  work: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export type SavepointResult = { ok: true } | { ok: false; error: unknown };

/** Thrown by {@link Database.transaction} when called inside a transaction. */
export class NestedTransactionError extends Error {
  constructor() {
    super(
      'Database.transaction was called inside a transaction: a transaction never opens inside ' +
        'another. Call the repositories directly (they join the current transaction), use ' +
        'Database.savepoint for a part that may fail alone, or open it after this one.',
    );
    this.name = 'NestedTransactionError';
  }
}

/**
 * The one path to the database. Repositories run their SQL here ({@link read}, {@link write}),
 * through an {@link EntityTable}; services decide what is one transaction ({@link transaction}).
 *
 * - **Transactions** are carried by the async context: a repository method called inside
 *   `transaction(work)` runs on that transaction's connection; outside one, it reads on the read
 *   path, and refuses to write. A transaction never opens inside another: that is refused at once
 *   ({@link NestedTransactionError}). `transaction` settles once its transaction has committed.
 * - **Reads outside a transaction see only committed rows**, the same on both databases: on
 *   PostgreSQL a pool of its own (named statements, docs/decisions/007); on a SQLite file a second,
 *   read-only better-sqlite3 connection (WAL lets it read while the writer writes). An in-memory
 *   SQLite database has one connection, so there a read waits until no group of writes is open.
 * - **SQLite writes take turns and commit in groups**: better-sqlite3 has one writing connection,
 *   on which two interleaved transactions would merge into one. Units of work that queue up while
 *   a group runs form the next one: one transaction, each unit a savepoint (a unit that fails
 *   undoes only its own writes). A commit writes every page the transaction touched, so one commit
 *   for many units is much of the cost of a write under load (docs/decisions/016). PostgreSQL runs
 *   each transaction on TypeORM's pool.
 *
 * TypeORM stays for the schema (migrations), the entities' metadata, and opening transactions and
 * savepoints; statements run on the connections themselves (`QueryRunner.connect()` hands over a
 * transaction's), prepared once per SQL text, rows as arrays (docs/decisions/006).
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  readonly dialect: Dialect;
  private readonly logger = new Logger('Database');
  private readonly current = new AsyncLocalStorage<Transaction>();
  private openTransactions = 0;
  /** SQLite: units waiting for the next group. */
  private readonly queue?: Unit[];
  private draining = false;
  /** SQLite: settles when the group of writes now open has ended (an in-memory database's reads wait for it). */
  private group?: Promise<void>;
  /** A SQLite file's read-only connection. */
  private readonly reader?: SqliteConnection;
  /** An in-memory SQLite database's one connection, for reads outside a transaction. */
  private writer?: Promise<SqliteConnection>;
  /** PostgreSQL: the pool for reads outside a transaction. */
  private readonly readPool?: Pool;
  private readonly statements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();
  private readonly statementNames = new Map<string, string>();

  constructor(private readonly dataSource: DataSource) {
    const options = dataSource.options;
    this.dialect = options.type === 'postgres' ? 'postgres' : 'sqlite';
    if (options.type === 'postgres') {
      this.readPool = new Pool({ connectionString: options.url, max: READ_POOL_CONNECTIONS });
      // An idle connection that breaks (a restart of the server) is dropped, not thrown.
      this.readPool.on('error', (error) => this.logger.warn(`read pool: ${error.message}`));
      return;
    }
    this.queue = [];
    const file = options.database as string;
    if (file !== ':memory:')
      this.reader = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  }

  async onApplicationShutdown(): Promise<void> {
    this.reader?.close();
    await this.readPool?.end();
  }

  /** The table of an entity, for its repository (see {@link EntityTable}). */
  table<T extends ObjectLiteral>(target: EntityTarget<T>): EntityTable<T> {
    return new EntityTable<T>(this, this.dataSource.getMetadata(target));
  }

  /** Whether the current async context is inside a transaction. */
  inTransaction(): boolean {
    return this.transactionHere() !== undefined;
  }

  /**
   * Runs `work` as one transaction; every repository method it calls joins it. Settles once the
   * transaction has committed (or failed). Refused at once inside another transaction.
   */
  transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.inTransaction()) return Promise.reject(new NestedTransactionError());
    const queue = this.queue;
    if (!queue)
      return this.dataSource.transaction((manager) =>
        this.within(manager.queryRunner!, (transaction) => this.current.run(transaction, work)),
      );
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      void this.drain(queue);
    });
  }

  /**
   * Runs `work` inside the current transaction as a savepoint: if it fails, only its own writes
   * are undone and the transaction goes on. Answers whether it succeeded, and why not.
   */
  savepoint(work: () => Promise<void>): Promise<SavepointResult> {
    const transaction = this.transactionHere();
    if (!transaction) return Promise.reject(new Error('a savepoint needs a transaction'));
    return this.savepointIn(transaction, work);
  }

  /**
   * Runs a statement that answers rows (a SELECT): each row an array of its column values, in
   * their order in the SQL. Inside a transaction on its connection, so it sees the transaction's
   * own writes; outside one on the read path, so it sees only what is committed.
   */
  async read(sql: string, values: unknown[]): Promise<unknown[][]> {
    const transaction = this.transactionHere();
    if (transaction) return (await this.run(transaction.connection, sql, values)).rows;
    if (this.readPool) return this.readOnPool(this.readPool, sql, values);
    if (this.reader) return this.prepared(this.reader, sql).all(...values);
    // In memory: one connection, shared with the group of writes; read between groups.
    const connection = await (this.writer ??= this.connectWriter());
    while (this.group) await this.group;
    return this.prepared(connection, sql).all(...values);
  }

  /** Runs a write in the current transaction: the rows it answers (`RETURNING`) and how many it changed. */
  async write(sql: string, values: unknown[]): Promise<{ rows: unknown[][]; changed: number }> {
    const transaction = this.transactionHere();
    if (!transaction) throw new Error('writes run inside Database.transaction');
    return this.run(transaction.connection, sql, values);
  }

  private transactionHere(): Transaction | undefined {
    const transaction = this.current.getStore();
    return transaction?.open ? transaction : undefined;
  }

  /** Runs `work` with the transaction TypeORM opened on `runner`; closes it after. */
  private async within<T>(
    runner: QueryRunner,
    work: (transaction: Transaction) => Promise<T>,
  ): Promise<T> {
    const connection = (await runner.connect()) as Transaction['connection'];
    const transaction: Transaction = { runner, connection, open: true };
    this.openTransactions++;
    try {
      return await work(transaction);
    } finally {
      transaction.open = false;
      // On Node 20 an AsyncLocalStorage, once used, has every promise of the process carry its
      // context: ~10 % of a read's CPU. Switched off whenever no transaction is open (the next
      // `run` switches it on); contexts left behind hold only closed transactions.
      if (--this.openTransactions === 0) this.current.disable();
    }
  }

  private async connectWriter(): Promise<SqliteConnection> {
    return (await this.dataSource.createQueryRunner().connect()) as SqliteConnection;
  }

  /**
   * On SQLite, on better-sqlite3's statement prepared once; on PostgreSQL, unnamed: a statement
   * prepared on a connection TypeORM hands back to its pool would keep failing there once a
   * migration changed a column's type.
   */
  private async run(
    connection: Transaction['connection'],
    sql: string,
    values: unknown[],
  ): Promise<{ rows: unknown[][]; changed: number }> {
    if (this.dialect === 'sqlite') {
      const statement = this.prepared(connection as SqliteConnection, sql);
      if (!statement.reader) return { rows: [], changed: statement.run(...values).changes };
      const rows = statement.all(...values);
      return { rows, changed: rows.length };
    }
    const result = await (connection as PoolClient).query<unknown[]>({
      text: sql,
      values,
      rowMode: 'array',
    });
    return { rows: result.rows, changed: result.rowCount ?? 0 };
  }

  /**
   * A read as a named statement, which pg prepares once per pooled connection (the server then
   * neither parses nor plans it again).
   */
  private async readOnPool(pool: Pool, sql: string, values: unknown[]): Promise<unknown[][]> {
    const query = { name: this.statementName(sql), text: sql, values, rowMode: 'array' as const };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query<unknown[]>(query)).rows;
      } catch (error) {
        // A column's type changed under a prepared statement (a migration during a rolling
        // upgrade): the pool drops that connection; again, on another, as many times as it has.
        if (!isStalePlan(error) || attempt >= READ_POOL_CONNECTIONS) throw error;
      }
    }
  }

  /** A name per SQL text: pg refuses one name for two texts on a connection. */
  private statementName(sql: string): string {
    let name = this.statementNames.get(sql);
    if (!name) {
      name = `fd_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
      this.statementNames.set(sql, name);
    }
    return name;
  }

  private prepared(connection: SqliteConnection, sql: string): SqliteStatement {
    let bySql = this.statements.get(connection);
    if (!bySql) this.statements.set(connection, (bySql = new Map<string, SqliteStatement>()));
    let statement = bySql.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      if (statement.reader) statement.raw(true);
      bySql.set(sql, statement);
    }
    return statement;
  }

  private async savepointIn(
    transaction: Transaction,
    work: () => Promise<void>,
  ): Promise<SavepointResult> {
    const runner = transaction.runner;
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
    let ended!: () => void;
    this.group = new Promise((resolve) => (ended = resolve));
    try {
      await this.dataSource.transaction((manager) =>
        this.within(manager.queryRunner!, async (transaction) => {
          if (group.length === 1) {
            outcomes.push({ ok: true, value: await this.current.run(transaction, group[0].work) });
            return;
          }
          for (const unit of group) {
            let value: unknown;
            const result = await this.savepointIn(transaction, async () => {
              value = await this.current.run(transaction, unit.work);
            });
            outcomes.push(result.ok ? { ok: true, value } : result);
          }
        }),
      );
    } catch (error) {
      failure = { error }; // nothing was committed: a unit alone failed, or the commit itself
    } finally {
      this.group = undefined;
      ended();
    }
    for (const [i, unit] of group.entries()) {
      const outcome = outcomes[i];
      if (outcome && !outcome.ok) unit.reject(outcome.error);
      else if (failure || !outcome) unit.reject(failure?.error);
      else unit.resolve(outcome.value);
    }
  }
}

/** PostgreSQL's "cached plan must not change result type", for a statement prepared before. */
function isStalePlan(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan');
}

/** True when a write failed on a unique index or primary key, on either database. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // Raised by the driver itself, or wrapped by TypeORM (`QueryFailedError.driverError`).
  const { code, driverError } = error as { code?: string; driverError?: { code?: string } };
  const found = code ?? driverError?.code ?? '';
  return (
    found === '23505' ||
    found.startsWith('SQLITE_CONSTRAINT_UNIQUE') ||
    found === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
