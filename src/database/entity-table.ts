import type { EntityMetadata, ObjectLiteral } from 'typeorm';
import type { Database } from './database';

type Column = EntityMetadata['columns'][number];

/**
 * How a column's values travel between the entity and the database: as they are, or converted
 * the way TypeORM stores them (booleans as 0/1 on SQLite, `simple-json` as JSON text).
 */
type Conversion = 'plain' | 'boolean' | 'json';

/** The column types EntityTable converts; an entity with another type is refused at start-up. */
const CONVERSIONS = new Map<unknown, Conversion>([
  ['varchar', 'plain'],
  ['text', 'plain'],
  ['integer', 'plain'],
  [Number, 'plain'], // a generated `increment` key
  ['boolean', 'boolean'],
  ['simple-json', 'json'],
]);

type Comparison = '<' | '<=' | '>' | '>=';

/** A column compared with values rather than equal to one: build it with {@link range}. */
export class Range<V> {
  constructor(readonly bounds: ReadonlyArray<readonly [Comparison, V]>) {}
}

/**
 * The values a column must lie within, e.g. `range({ atLeast: since, atMost: until })`; bounds
 * left undefined are left out, and with none at all the condition is (undefined, so skipped).
 */
export function range<V>(bounds: {
  below?: V;
  atMost?: V;
  above?: V;
  atLeast?: V;
}): Range<V> | undefined {
  const comparisons: Array<[keyof typeof bounds, Comparison]> = [
    ['atLeast', '>='],
    ['above', '>'],
    ['atMost', '<='],
    ['below', '<'],
  ];
  const given = comparisons
    .filter(([name]) => bounds[name] !== undefined)
    .map(([name, comparison]) => [comparison, bounds[name] as V] as const);
  return given.length > 0 ? new Range(given) : undefined;
}

/** Column equality; `null` means IS NULL, an array any of its values (`IN`), a {@link Range} a range. */
export type Where<T> = { [K in keyof T]?: T[K] | readonly T[K][] | Range<NonNullable<T[K]>> };

export interface ReadOptions<T> {
  where?: Where<T>;
  order?: Array<[keyof T & string, 'ASC' | 'DESC']>;
  /** Only rows after the row with these values of the `order` columns (keyset; all DESC or all ASC). */
  after?: unknown[];
  limit?: number;
  offset?: number;
  /** In a transaction on PostgreSQL, `FOR SHARE`: the rows cannot change until it ends. */
  lockShared?: boolean;
}

/**
 * Where a page's `total` comes from instead of counting its rows: the sum of a column over the
 * rows of another table matching a condition (counts kept beside the rows, e.g. per group).
 */
export interface SumOf<C extends ObjectLiteral> {
  table: EntityTable<C>;
  column: keyof C & string;
  where: Where<C>;
}

/** A WHERE clause, or a whole statement built on one: its SQL, and its values in placeholder order. */
interface Filter {
  /** What the SQL depends on (columns, IS NULL, list lengths, ranges), to cache it by. */
  shape: string;
  sql: () => string;
  values: unknown[];
}

/**
 * One entity's table, for its repository: reads (a row by id, a list, a page of a list and its
 * count), inserts, updates and deletes by column conditions, as SQL built once per shape of query
 * and run by {@link Database} (prepared statements, rows as arrays; in the current transaction if
 * there is one). Values convert through the entity's column metadata, the way TypeORM stores them.
 *
 * TypeORM's repositories and query builders build their SQL again on every call: that cost a
 * single-row read more than the rest of its request, and a rollout's ~30 statements most of its
 * time (docs/decisions/005). Only repositories use it (the lint enforces that).
 */
export class EntityTable<T extends ObjectLiteral> {
  private readonly sqlByShape = new Map<string, string>();
  private readonly columns: Array<{ column: Column; conversion: Conversion }>;
  private readonly byProperty: Map<string, { column: Column; conversion: Conversion }>;
  /** The key column and its place in a row of {@link columnList}'s values; none for composite keys. */
  private readonly key?: { column: Column; index: number };
  private readonly batchesKeyReads: boolean;
  /** The keys {@link readByKey} will read at the end of this turn of the event loop. */
  private pendingKeyReads?: { keys: unknown[]; rows: Promise<Map<unknown, unknown[]>> };

  constructor(
    private readonly db: Database,
    private readonly metadata: EntityMetadata,
  ) {
    if (metadata.embeddeds.length > 0)
      throw new Error(`${metadata.name}: EntityTable takes flat entities`);
    if (metadata.primaryColumns.length === 1) {
      const key = metadata.primaryColumns[0];
      this.key = { column: key, index: metadata.columns.indexOf(key) };
    }
    this.batchesKeyReads = db.dialect === 'postgres' && this.key !== undefined;
    this.columns = metadata.columns.map((column) => {
      const conversion = CONVERSIONS.get(column.type);
      if (!conversion || column.transformer)
        throw new Error(
          `${metadata.name}.${column.propertyName}: EntityTable converts varchar, text, integer, boolean and simple-json columns without transformers`,
        );
      return { column, conversion };
    });
    this.byProperty = new Map(this.columns.map((c) => [c.column.propertyName, c]));
  }

  async findOne(where: Where<T>): Promise<T | null> {
    this.requireConditions(where);
    const key = this.key?.column.propertyName;
    const conditions = Object.keys(where);
    const single =
      conditions.length === 1 && conditions[0] === key && typeof where[key] === 'string';
    if (single && this.batchesKeyReads && !this.db.inTransaction()) {
      const row = await this.readByKey(where[key]);
      return row ? this.hydrate(row) : null;
    }
    const [row] = await this.find({ where, limit: 1 });
    return row ?? null;
  }

  /**
   * On PostgreSQL, the rows asked for by key outside a transaction during one turn of the event
   * loop are read together at its end, by one statement (`= ANY($1)`): under load, several
   * requests' reads share one round trip. Sending a statement (the `writev` that wakes the
   * backend) was about a third of a read's time in Node (docs/decisions/009). SQLite has no round
   * trip to share.
   */
  private readByKey(key: unknown): Promise<unknown[] | undefined> {
    let batch = this.pendingKeyReads;
    if (!batch) {
      const keys: unknown[] = [];
      const rows = new Promise((resolve) => setImmediate(resolve)).then(async () => {
        this.pendingKeyReads = undefined;
        const { column, index } = this.key!;
        const sql = this.sql('by-keys', () => {
          const table = this.escape(this.metadata.tableName);
          return `SELECT ${this.columnList()} FROM ${table} WHERE ${this.escape(column.databaseName)} = ANY(${this.parameter(0)})`;
        });
        const found = await this.db.read(sql, [keys.map((k) => this.persistent(k, 'plain'))]);
        return new Map(found.map((row) => [row[index], row]));
      });
      batch = this.pendingKeyReads = { keys, rows };
    }
    batch.keys.push(key);
    return batch.rows.then((rows) => rows.get(key));
  }

  async find(options: ReadOptions<T>): Promise<T[]> {
    const rows = await this.select(options, false);
    return rows.map((row) => this.hydrate(row));
  }

  /**
   * A page of a list and how many rows match in all, read by one statement: the count is a
   * subquery beside the page's columns. One round trip instead of two (the second cost a
   * PostgreSQL list a fifth of its time, docs/decisions/010), and the total counts the very snapshot
   * the rows come from. With `total`, that subquery sums kept counts instead of counting every
   * matching row (docs/decisions/023). A page that continues after a row (`after`) has no total:
   * what keyset pages save is counting every match.
   */
  async findPage<C extends ObjectLiteral>(
    options: ReadOptions<T>,
    total?: SumOf<C>,
  ): Promise<{ rows: T[]; total?: number }> {
    if (options.after) return { rows: await this.find(options) };
    const raw = await this.select(options, total ?? true);
    const rows = raw.map((row) => this.hydrate(row));
    if (raw.length > 0) return { rows, total: Number(raw[0][this.columns.length]) };
    // No row to carry the count: nothing matches, unless the page lies past the last one.
    const pastTheEnd = (options.offset ?? 0) > 0 || options.limit === 0;
    if (!pastTheEnd) return { rows, total: 0 };
    return { rows, total: await (total ? total.table.sum(total) : this.count(options.where)) };
  }

  /**
   * The rows of `options` as arrays of {@link columnList}'s values, then, if `counted`, how many
   * match (true) or the sum it names.
   */
  private select<C extends ObjectLiteral>(
    options: ReadOptions<T>,
    counted: boolean | SumOf<C>,
  ): Promise<unknown[][]> {
    const order = options.order ?? [];
    const where = options.where ?? {};
    // The count's condition comes first in the SQL, so its values come first too.
    const counting =
      counted === true
        ? this.countQuery(where)
        : counted
          ? counted.table.sumQuery(counted)
          : undefined;
    const countValues = counting?.values ?? [];
    const filter = this.filter(where, countValues.length, order, options.after);
    const values = [...countValues, ...filter.values];
    const { limit, offset = 0 } = options;
    const paged = limit !== undefined;
    if (!paged && options.offset !== undefined) throw new Error('offset needs a limit');
    if (paged && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new Error(`limit must be a whole number, not ${limit}`);
    // A deep page finds its ids in the index first and reads only those rows ("deferred join"):
    // OFFSET otherwise reads every skipped row (page 500 cost 4x page 1 on SQLite, 2x with this).
    const deep = paged && offset > 0;
    if (deep && !this.key) throw new Error(`${this.metadata.name}: an offset needs one key column`);
    // On SQLite the limit is written into the SQL: it plans a statement again on every run when
    // its LIMIT is a parameter (a read by id took twice as long). On PostgreSQL it stays a
    // parameter, so one prepared statement serves every page size.
    const literalLimit = this.db.dialect === 'sqlite';
    if (paged && !literalLimit) values.push(limit);
    if (deep) values.push(offset);
    const lock = options.lockShared && this.db.dialect === 'postgres';
    const shape = `select|${filter.shape}|${order.join(',')}|${paged ? (literalLimit ? limit : '?') : ''}|${deep}|${counting?.shape ?? ''}|${lock}`;
    const sql = this.sql(shape, () => {
      const table = this.escape(this.metadata.tableName);
      const total = counting ? `, (${counting.sql()})` : '';
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
      const locked = lock ? ' FOR SHARE' : '';
      if (!deep)
        return `SELECT ${columns} FROM ${table}${filter.sql()}${ordered}${window}${locked}`;
      const key = this.escape(this.key!.column.databaseName);
      const page = `SELECT ${key} FROM ${table}${filter.sql()}${ordered}${window}`;
      return `SELECT ${columns} FROM ${table} WHERE ${key} IN (${page})${ordered}${locked}`;
    });
    return this.db.read(sql, values);
  }

  async count(where: Where<T> = {}): Promise<number> {
    return this.total(this.countQuery(where));
  }

  /** The sum of a column over the rows `where` matches (0 when none does). */
  sum(of: Pick<SumOf<T>, 'column' | 'where'>): Promise<number> {
    return this.total(this.sumQuery(of));
  }

  private async total(query: Filter): Promise<number> {
    const [[n]] = await this.db.read(this.sql(query.shape, query.sql), query.values);
    return Number(n); // PostgreSQL answers a bigint as a string
  }

  /** The rows `where` matches, counted: a statement of its own, or a page's subquery. */
  private countQuery(where: Where<T>): Filter {
    const filter = this.filter(where);
    const table = this.escape(this.metadata.tableName);
    const sql = () => `SELECT COUNT(*) FROM ${table}${filter.sql()}`;
    return { shape: `count|${filter.shape}`, sql, values: filter.values };
  }

  /** The sum of a column over the rows `where` matches, as {@link countQuery}. */
  private sumQuery({ column, where }: Pick<SumOf<T>, 'column' | 'where'>): Filter {
    const filter = this.filter(where);
    const table = this.escape(this.metadata.tableName);
    const summed = this.escape(this.column(column).column.databaseName);
    const sql = () => `SELECT COALESCE(SUM(${summed}), 0) FROM ${table}${filter.sql()}`;
    return { shape: `sum ${table}.${summed}|${filter.shape}`, sql, values: filter.values };
  }

  /**
   * Adds 1 to `column` of the row with the key `key` (the table's whole primary key), inserting
   * that row with 1 if there is none: one statement (`INSERT … ON CONFLICT DO UPDATE`).
   */
  async increment(key: Partial<T>, column: keyof T & string): Promise<void> {
    const keys = this.metadata.primaryColumns;
    const counted = this.escape(this.column(column).column.databaseName);
    const sql = this.sql(`increment|${column}`, () => {
      const table = this.escape(this.metadata.tableName);
      const names = keys.map((k) => this.escape(k.databaseName)).join(', ');
      const placeholders = keys.map((_, i) => this.parameter(i)).join(', ');
      return (
        `INSERT INTO ${table} (${names}, ${counted}) VALUES (${placeholders}, 1) ` +
        `ON CONFLICT (${names}) DO UPDATE SET ${counted} = ${table}.${counted} + 1`
      );
    });
    const values = keys.map((k) => {
      const { conversion } = this.column(k.propertyName);
      return this.persistent((key as Record<string, unknown>)[k.propertyName], conversion);
    });
    await this.db.write(sql, values);
  }

  /** Inserts the entity's columns that are set (generated keys and defaults are left to the database). */
  async insert(entity: Partial<T>): Promise<void> {
    const set = this.columns.filter(
      ({ column }) => (entity as Record<string, unknown>)[column.propertyName] !== undefined,
    );
    const sql = this.sql(`insert|${set.map((c) => c.column.databaseName).join(',')}`, () => {
      const names = set.map(({ column }) => this.escape(column.databaseName)).join(', ');
      const placeholders = set.map((_, i) => this.parameter(i)).join(', ');
      return `INSERT INTO ${this.escape(this.metadata.tableName)} (${names}) VALUES (${placeholders})`;
    });
    const values = set.map(({ column, conversion }) =>
      this.persistent((entity as Record<string, unknown>)[column.propertyName], conversion),
    );
    await this.db.write(sql, values);
  }

  /** Sets `changes` on the rows matching `where`; answers those rows as they are now. */
  async update(where: Where<T>, changes: Partial<T>): Promise<T[]> {
    const set = (Object.entries(changes) as Array<[string, unknown]>)
      .filter(([, value]) => value !== undefined)
      .map(([property, value]) => ({ ...this.column(property), value }));
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
    const values = [...set.map((s) => this.persistent(s.value, s.conversion)), ...filter.values];
    const { rows } = await this.db.write(sql, values);
    return rows.map((row) => this.hydrate(row));
  }

  /** Deletes the rows matching `where`; answers how many there were. */
  async delete(where: Where<T>): Promise<number> {
    this.requireConditions(where);
    const filter = this.filter(where);
    const sql = this.sql(`delete|${filter.shape}`, () => {
      return `DELETE FROM ${this.escape(this.metadata.tableName)}${filter.sql()}`;
    });
    return (await this.db.write(sql, filter.values)).changed;
  }

  /** The WHERE clause: its shape (for the SQL cache), its SQL and its values in placeholder order. */
  private filter(
    where: Where<T>,
    firstParameter = 0,
    order: ReadOptions<T>['order'] = [],
    after?: unknown[],
  ): Filter {
    const values: unknown[] = [];
    const terms: Array<{ name: string; count?: number; isNull?: true; compare?: Comparison[] }> =
      [];
    for (const [property, wanted] of Object.entries(where) as Array<[string, unknown]>) {
      if (wanted === undefined) continue;
      const { column, conversion } = this.column(property);
      const name = column.databaseName;
      if (wanted === null) {
        terms.push({ name, isNull: true });
      } else if (wanted instanceof Range) {
        const bounds = (wanted as Range<unknown>).bounds;
        terms.push({ name, compare: bounds.map(([comparison]) => comparison) });
        for (const [, value] of bounds) values.push(this.persistent(value, conversion));
      } else if (Array.isArray(wanted)) {
        if (wanted.includes(null)) throw new Error(`${property}: IN cannot match null`);
        terms.push({ name, count: wanted.length });
        for (const value of wanted) values.push(this.persistent(value, conversion));
      } else {
        terms.push({ name });
        values.push(this.persistent(wanted, conversion));
      }
    }
    let keyset: { names: string[]; comparison: '<' | '>' } | undefined;
    if (after) {
      const directions = new Set(order.map(([, direction]) => direction));
      if (after.length !== order.length || directions.size !== 1)
        throw new Error('after takes one value per order column, all ordered the same way');
      keyset = {
        names: order.map(([property]) => this.column(property).column.databaseName),
        comparison: directions.has('DESC') ? '<' : '>',
      };
      order.forEach(([property], i) =>
        values.push(this.persistent(after[i], this.column(property).conversion)),
      );
    }
    const shape =
      terms
        .map(
          (t) =>
            `${t.name}${t.isNull ? ' null' : t.compare ? t.compare.join('') : t.count === undefined ? '' : `[${t.count}]`}`,
        )
        .join(',') + (keyset ? `|${keyset.comparison}(${keyset.names.join(',')})` : '');
    const sql = () => {
      let index = firstParameter;
      const conditions = terms.flatMap(({ name, count, isNull, compare }) => {
        if (isNull) return `${this.escape(name)} IS NULL`;
        if (compare)
          return compare.map((c) => `${this.escape(name)} ${c} ${this.parameter(index++)}`);
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
   * A row by id, an update or a delete says exactly which rows: no condition would mean all of
   * them, and a key given as `undefined` (skipped in list filters) is taken for a mistake here.
   */
  private requireConditions(where: Where<T>): void {
    const values = Object.values(where);
    if (values.length === 0 || values.includes(undefined))
      throw new Error(`${this.metadata.name}: a condition is required`);
  }

  private columnList(): string {
    return this.columns.map(({ column }) => this.escape(column.databaseName)).join(', ');
  }

  /** An entity from a row of {@link columnList}'s values. */
  private hydrate(row: unknown[]): T {
    const entity = this.metadata.create() as Record<string, unknown>;
    // An indexed loop: a list hydrates hundreds of values per request (an iterator took twice as long).
    for (let i = 0; i < this.columns.length; i++) {
      const { column, conversion } = this.columns[i];
      const value = row[i];
      entity[column.propertyName] =
        conversion === 'plain' || value === null
          ? value
          : conversion === 'boolean'
            ? Boolean(value)
            : typeof value === 'string'
              ? (JSON.parse(value) as unknown)
              : value;
    }
    return entity as T;
  }

  /** A value as the database keeps it: booleans as 0/1 on SQLite, JSON as text. */
  private persistent(value: unknown, conversion: Conversion): unknown {
    if (conversion === 'plain' || value === null || value === undefined) return value;
    if (conversion === 'json') return JSON.stringify(value);
    return this.db.dialect === 'sqlite' ? (value === true ? 1 : 0) : value === true;
  }

  private column(property: string): { column: Column; conversion: Conversion } {
    const found = this.byProperty.get(property);
    if (!found) throw new Error(`${this.metadata.name} has no column ${property}`);
    return found;
  }

  private name(property: string): string {
    return this.escape(this.column(property).column.databaseName);
  }

  private escape(name: string): string {
    return `"${name}"`;
  }

  private parameter(index: number): string {
    return this.db.dialect === 'sqlite' ? '?' : `$${index + 1}`;
  }
}
