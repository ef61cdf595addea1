import { createHash } from 'node:crypto';
import type {
  DataSource,
  EntityManager,
  EntityMetadata,
  EntityTarget,
  ObjectLiteral,
} from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/** Column types both drivers hand back exactly as the entity holds them. */
const PLAIN_TYPES = new Set(['varchar', 'text', 'integer']);

/** Column equality; `null` means IS NULL, an array any of its values (`IN`). */
export type Where<T> = { [K in keyof T]?: T[K] | readonly T[K][] };

export interface ReadOptions<T> {
  where?: Where<T>;
  order?: Array<[keyof T & string, 'ASC' | 'DESC']>;
  /** Only rows after the row with these values of the `order` columns (keyset; all DESC or all ASC). */
  after?: unknown[];
  limit?: number;
  offset?: number;
}

/** The part of better-sqlite3's API used here. */
interface SqliteStatement {
  raw(on: boolean): SqliteStatement;
  all(...values: unknown[]): unknown[][];
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
/** Connections in the PostgreSQL pool. */
export const MAX_POOL_CONNECTIONS = 20;

/** PostgreSQL's "cached plan must not change result type", for a statement prepared before. */
function isStalePlan(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan');
}

/** The part of pg's API used here: a pool or a client. */
interface PgQueryable {
  query(query: {
    name?: string;
    text: string;
    values: unknown[];
    rowMode: 'array';
  }): Promise<{ rows: unknown[][] }>;
}

interface Filter {
  /** What the SQL depends on (columns, IS NULL, list lengths), to cache it by. */
  shape: string;
  sql: () => string;
  values: unknown[];
}

/**
 * The hot path of one entity's table: reads (a row by id, a page of a list and its count),
 * inserts and updates by column equality, as SQL built once per shape of query and run as a
 * prepared statement, with values converted through TypeORM's own column metadata (so
 * `simple-json`, booleans and column names behave exactly as through a repository).
 *
 * TypeORM's repositories and query builders build their SQL again on every call: that cost a
 * single-row read more than the rest of its request, and a rollout's ~30 statements most of its
 * time (docs/decisions/005). Transactions, migrations and the rarer queries (ranges, `MAX`) stay on
 * TypeORM; writes take the transaction's `EntityManager`.
 */
export class EntityTable<T extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly sqlByShape = new Map<string, string>();
  private readonly columns: Array<{ column: ColumnMetadata; plain: boolean }>;
  private readonly names = new Map<string, string>();
  /** The key column, and its place in a row of {@link columnList}'s values. */
  private readonly key: { column: ColumnMetadata; index: number };
  private readonly batchesKeyReads: boolean;
  /** The keys {@link readByKey} will read at the end of this turn of the event loop. */
  private pendingKeyReads?: { keys: unknown[]; rows: Promise<Map<unknown, unknown[]>> };
  private statements: { connection?: SqliteConnection; bySql: Map<string, SqliteStatement> } = {
    bySql: new Map(),
  };

  constructor(
    private readonly dataSource: DataSource,
    target: EntityTarget<T>,
  ) {
    this.metadata = dataSource.getMetadata(target);
    if (this.metadata.embeddeds.length > 0 || this.metadata.primaryColumns.length !== 1)
      throw new Error(`${this.metadata.name}: EntityTable takes flat entities with one key column`);
    const key = this.metadata.primaryColumns[0];
    this.key = { column: key, index: this.metadata.columns.indexOf(key) };
    this.batchesKeyReads = dataSource.options.type === 'postgres';
    this.columns = this.metadata.columns.map((column) => ({
      column,
      plain: !column.transformer && PLAIN_TYPES.has(String(column.type)),
    }));
  }

  async findOne(where: Where<T>, manager?: EntityManager): Promise<T | null> {
    this.requireConditions(where);
    const key = this.key.column.propertyName;
    const conditions = Object.keys(where);
    const single =
      conditions.length === 1 && conditions[0] === key && typeof where[key] === 'string';
    if (!manager && this.batchesKeyReads && single) {
      const row = await this.readByKey(where[key]);
      return row ? this.hydrate(row) : null;
    }
    const [row] = await this.find({ where, limit: 1 }, manager);
    return row ?? null;
  }

  /**
   * On PostgreSQL, the rows asked for by key during one turn of the event loop are read together
   * at its end, by one statement (`= ANY($1)`): under load, several requests' reads share one
   * round trip. Sending a statement (the `writev` that wakes the backend) was about a third of a
   * read's time in Node (docs/decisions/009). SQLite has no round trip to share.
   */
  private readByKey(key: unknown): Promise<unknown[] | undefined> {
    let batch = this.pendingKeyReads;
    if (!batch) {
      const keys: unknown[] = [];
      const rows = new Promise((resolve) => setImmediate(resolve)).then(async () => {
        this.pendingKeyReads = undefined;
        const { column, index } = this.key;
        const sql = this.sql('by-keys', () => {
          const table = this.escape(this.metadata.tableName);
          const name = this.escape(column.databaseName);
          return `SELECT ${this.columnList()} FROM ${table} WHERE ${name} = ANY(${this.parameter(0)})`;
        });
        const found = await this.read(sql, [keys.map((k) => this.persistent(k, column))]);
        return new Map(found.map((row) => [row[index], row]));
      });
      batch = this.pendingKeyReads = { keys, rows };
    }
    batch.keys.push(key);
    return batch.rows.then((rows) => rows.get(key));
  }

  async find(options: ReadOptions<T>, manager?: EntityManager): Promise<T[]> {
    const rows = await this.select(options, false, manager);
    return rows.map((row) => this.hydrate(row));
  }

  /**
   * A page of a list and how many rows match in all, read by one statement: the count is a
   * subquery beside the page's columns. One round trip instead of two (the second cost a
   * PostgreSQL list a fifth of its time, docs/decisions/010), and the total counts the very snapshot
   * the rows come from. A page that continues after a row (`after`) has no total: what keyset
   * pages save is counting every match.
   */
  async findPage(options: ReadOptions<T>): Promise<{ rows: T[]; total?: number }> {
    if (options.after) return { rows: await this.find(options) };
    const raw = await this.select(options, true);
    const rows = raw.map((row) => this.hydrate(row));
    if (raw.length > 0) return { rows, total: Number(raw[0][this.columns.length]) };
    // No row to carry the count: nothing matches, unless the page lies past the last one.
    const pastTheEnd = (options.offset ?? 0) > 0 || options.limit === 0;
    return { rows, total: pastTheEnd ? await this.count(options.where) : 0 };
  }

  /** The rows of `options` as arrays of {@link columnList}'s values, then the count if `counted`. */
  private async select(
    options: ReadOptions<T>,
    counted: boolean,
    manager?: EntityManager,
  ): Promise<unknown[][]> {
    const order = options.order ?? [];
    const where = options.where ?? {};
    // The count's condition comes first in the SQL, so its values come first too.
    const counting = counted ? this.filter(where) : undefined;
    const filter = this.filter(where, counting?.values.length ?? 0, order, options.after);
    const values = [...(counting?.values ?? []), ...filter.values];
    const { limit, offset = 0 } = options;
    const paged = limit !== undefined;
    if (!paged && options.offset !== undefined) throw new Error('offset needs a limit');
    if (paged && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new Error(`limit must be a whole number, not ${limit}`);
    // A deep page finds its ids in the index first and reads only those rows ("deferred join"):
    // OFFSET otherwise reads every skipped row (page 500 cost 4x page 1 on SQLite, 2x with this).
    const deep = paged && offset > 0;
    // On SQLite the limit is written into the SQL: it plans a statement again on every run when
    // its LIMIT is a parameter (a read by id took twice as long). On PostgreSQL it stays a
    // parameter, so one prepared statement serves every page size.
    const literalLimit = this.dataSource.options.type === 'better-sqlite3';
    if (paged && !literalLimit) values.push(limit);
    if (deep) values.push(offset);
    const shape = `select|${filter.shape}|${order.join(',')}|${paged ? (literalLimit ? limit : '?') : ''}|${deep}|${counted}`;
    const sql = this.sql(shape, () => {
      const table = this.escape(this.metadata.tableName);
      const total = counting ? `, (${this.countSql(counting)})` : '';
      const columns = this.columnList() + total;
      const orderBy = order
        .map(([property, direction]) => `${this.name(property)} ${direction}`)
        .join(', ');
      const ordered = orderBy ? ` ORDER BY ${orderBy}` : '';
      const limitSql = literalLimit
        ? String(limit)
        : this.parameter(values.length - (deep ? 2 : 1));
      const window = !paged
        ? ''
        : deep
          ? ` LIMIT ${limitSql} OFFSET ${this.parameter(values.length - 1)}`
          : ` LIMIT ${limitSql}`;
      if (!deep) return `SELECT ${columns} FROM ${table}${filter.sql()}${ordered}${window}`;
      const key = this.escape(this.key.column.databaseName);
      const page = `SELECT ${key} FROM ${table}${filter.sql()}${ordered}${window}`;
      return `SELECT ${columns} FROM ${table} WHERE ${key} IN (${page})${ordered}`;
    });
    return this.read(sql, values, manager);
  }

  async count(where: Where<T> = {}): Promise<number> {
    const filter = this.filter(where);
    const sql = this.sql(`count|${filter.shape}`, () => this.countSql(filter));
    const [[n]] = await this.read(sql, filter.values);
    return Number(n); // PostgreSQL answers a bigint as a string
  }

  /** The rows matching `filter`, counted: a statement of its own, or a page's subquery. */
  private countSql(filter: Filter): string {
    return `SELECT COUNT(*) FROM ${this.escape(this.metadata.tableName)}${filter.sql()}`;
  }

  /** Inserts the entity's columns that are set (generated keys and defaults are left to the database). */
  async insert(manager: EntityManager, entity: Partial<T>): Promise<void> {
    const present = this.metadata.columns.filter(
      (c) => (entity as Record<string, unknown>)[c.propertyName] !== undefined,
    );
    const sql = this.sql(`insert|${present.map((c) => c.databaseName).join(',')}`, () => {
      const names = present.map((c) => this.escape(c.databaseName)).join(', ');
      const placeholders = present.map((_, i) => this.parameter(i)).join(', ');
      return `INSERT INTO ${this.escape(this.metadata.tableName)} (${names}) VALUES (${placeholders})`;
    });
    const values = present.map((c) =>
      this.persistent((entity as Record<string, unknown>)[c.propertyName], c),
    );
    await this.write(manager, sql, values);
  }

  /** Sets `changes` on the rows matching `where`; answers those rows as they are now. */
  async update(manager: EntityManager, where: Where<T>, changes: Partial<T>): Promise<T[]> {
    const set = (Object.entries(changes) as Array<[string, unknown]>)
      .filter(([, value]) => value !== undefined)
      .map(([property, value]) => ({ column: this.column(property), value }));
    if (set.length === 0) throw new Error(`${this.metadata.name}: an update needs a change`);
    this.requireConditions(where);
    const filter = this.filter(where, set.length);
    const shape = `update|${set.map((s) => s.column.databaseName).join(',')}|${filter.shape}`;
    const sql = this.sql(shape, () => {
      const assignments = set
        .map((s, i) => `${this.escape(s.column.databaseName)} = ${this.parameter(i)}`)
        .join(', ');
      const table = this.escape(this.metadata.tableName);
      return `UPDATE ${table} SET ${assignments}${filter.sql()} RETURNING ${this.columnList()}`;
    });
    const values = [...set.map((s) => this.persistent(s.value, s.column)), ...filter.values];
    const rows = (await this.write(manager, sql, values)) as Array<Record<string, unknown>>;
    return rows.map((row) =>
      this.hydrate(this.columns.map(({ column }) => row[column.databaseName])),
    );
  }

  /** The WHERE clause: its shape (for the SQL cache), its SQL and its values in placeholder order. */
  private filter(
    where: Where<T>,
    firstParameter = 0,
    order: ReadOptions<T>['order'] = [],
    after?: unknown[],
  ): Filter {
    const values: unknown[] = [];
    const terms: Array<{ name: string; count?: number; isNull?: true }> = [];
    for (const [property, wanted] of Object.entries(where) as Array<[string, unknown]>) {
      if (wanted === undefined) continue;
      const column = this.column(property);
      if (wanted === null) {
        terms.push({ name: column.databaseName, isNull: true });
      } else if (Array.isArray(wanted)) {
        if (wanted.includes(null)) throw new Error(`${property}: IN cannot match null`);
        terms.push({ name: column.databaseName, count: wanted.length });
        for (const value of wanted) values.push(this.persistent(value, column));
      } else {
        terms.push({ name: column.databaseName });
        values.push(this.persistent(wanted, column));
      }
    }
    let keyset: { names: string[]; comparison: '<' | '>' } | undefined;
    if (after) {
      const directions = new Set(order.map(([, direction]) => direction));
      if (after.length !== order.length || directions.size !== 1)
        throw new Error('after takes one value per order column, all ordered the same way');
      keyset = {
        names: order.map(([property]) => this.column(property).databaseName),
        comparison: directions.has('DESC') ? '<' : '>',
      };
      order.forEach(([property], i) =>
        values.push(this.persistent(after[i], this.column(property))),
      );
    }
    const shape =
      terms
        .map((t) => `${t.name}${t.isNull ? ' null' : t.count === undefined ? '' : `[${t.count}]`}`)
        .join(',') + (keyset ? `|${keyset.comparison}(${keyset.names.join(',')})` : '');
    const sql = () => {
      let index = firstParameter;
      const conditions = terms.map(({ name, count, isNull }) => {
        if (isNull) return `${this.escape(name)} IS NULL`;
        if (count === undefined) return `${this.escape(name)} = ${this.parameter(index++)}`;
        if (count === 0) return '1 = 0';
        const list = Array.from({ length: count }, () => this.parameter(index++));
        return `${this.escape(name)} IN (${list.join(', ')})`;
      });
      if (keyset) {
        const names = keyset.names.map((name) => this.escape(name)).join(', ');
        const list = keyset.names.map(() => this.parameter(index++)).join(', ');
        conditions.push(`(${names}) ${keyset.comparison} (${list})`);
      }
      return conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
    };
    return { shape, sql, values };
  }

  private sql(shape: string, build: () => string): string {
    let sql = this.sqlByShape.get(shape);
    if (sql === undefined) {
      sql = build();
      this.sqlByShape.set(shape, sql);
    }
    return sql;
  }

  /**
   * Runs a SELECT and answers its rows as arrays of column values, in the order of its columns,
   * given `manager` in its transaction. On SQLite, on better-sqlite3's statement prepared once (on
   * the one connection every transaction uses); on PostgreSQL, outside a transaction, as a named
   * statement, which pg prepares once per pooled connection (the server then neither parses nor
   * plans it again). Building an object per row, and on PostgreSQL parsing and planning each
   * query, was most of a read's time (docs/decisions/006).
   */
  private async read(
    sql: string,
    values: unknown[],
    manager?: EntityManager,
  ): Promise<unknown[][]> {
    const driver = this.dataSource.driver as { databaseConnection?: unknown; master?: unknown };
    if (this.dataSource.options.type === 'better-sqlite3')
      return this.statement(driver.databaseConnection as SqliteConnection, sql).all(...values);
    const runner = manager?.queryRunner as { connect(): Promise<unknown> } | undefined;
    if (runner) {
      // Inside a transaction, unnamed: a statement prepared on a connection TypeORM hands back to
      // the pool would keep failing there once a migration changed a column's type.
      const client = (await runner.connect()) as PgQueryable;
      return (await client.query({ text: sql, values, rowMode: 'array' })).rows;
    }
    const pool = driver.master as PgQueryable;
    const query = { name: this.statementName(sql), text: sql, values, rowMode: 'array' as const };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query(query)).rows;
      } catch (error) {
        // A column's type changed under a prepared statement (a migration during a rolling
        // upgrade): the pool drops that connection; again, on another, as many times as it has.
        if (!isStalePlan(error) || attempt >= MAX_POOL_CONNECTIONS) throw error;
      }
    }
  }

  /** A name per SQL text: pg refuses one name for two texts on a connection. */
  private statementName(sql: string): string {
    let name = this.names.get(sql);
    if (!name) {
      name = `fd_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
      this.names.set(sql, name);
    }
    return name;
  }

  private statement(connection: SqliteConnection, sql: string): SqliteStatement {
    if (this.statements.connection !== connection)
      this.statements = { connection, bySql: new Map() }; // the data source was opened again
    let statement = this.statements.bySql.get(sql);
    if (!statement) {
      statement = connection.prepare(sql).raw(true);
      this.statements.bySql.set(sql, statement);
    }
    return statement;
  }

  /**
   * A row by id or an update says exactly which rows: no condition would mean all of them, and a
   * key given as `undefined` (skipped in list filters) is taken for a mistake here.
   */
  private requireConditions(where: Where<T>): void {
    const values = Object.values(where);
    if (values.length === 0 || values.includes(undefined))
      throw new Error(`${this.metadata.name}: a condition is required`);
  }

  /** Runs a write in `manager`'s transaction; answers the rows it returned (`RETURNING`). */
  private async write(manager: EntityManager, sql: string, values: unknown[]): Promise<unknown[]> {
    if (!manager.queryRunner?.isTransactionActive)
      throw new Error('EntityTable writes run inside a transaction');
    const result = await manager.queryRunner.query(sql, values, true);
    return (result.records as unknown[] | undefined) ?? [];
  }

  private columnList(): string {
    return this.metadata.columns.map((c) => this.escape(c.databaseName)).join(', ');
  }

  /** An entity from a row of {@link columnList}'s values. */
  private hydrate(row: unknown[]): T {
    const entity = this.metadata.create() as Record<string, unknown>;
    // An indexed loop: a list hydrates hundreds of values per request (an iterator took twice as long).
    for (let i = 0; i < this.columns.length; i++) {
      const { column, plain } = this.columns[i];
      // Text and integers arrive as they are kept; the driver converts the rest (JSON, booleans).
      entity[column.propertyName] = plain
        ? row[i]
        : this.dataSource.driver.prepareHydratedValue(row[i], column);
    }
    return entity as T;
  }

  private column(property: string): ColumnMetadata {
    const column = this.metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${this.metadata.name} has no column ${property}`);
    return column;
  }

  private name(property: string): string {
    return this.escape(this.column(property).databaseName);
  }

  private persistent(value: unknown, column: ColumnMetadata): unknown {
    return this.dataSource.driver.preparePersistentValue(value, column);
  }

  private escape(name: string): string {
    return this.dataSource.driver.escape(name);
  }

  private parameter(index: number): string {
    return this.dataSource.driver.createParameter(`p${index}`, index);
  }
}
