import type { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/** Column types both drivers hand back exactly as the entity holds them. */
const PLAIN_TYPES = new Set(['varchar', 'text', 'integer']);

/** Column equality; an array means any of its values (`IN`). */
export type Where<T> = { [K in keyof T]?: T[K] | readonly T[K][] };

export interface ReadOptions<T> {
  where?: Where<T>;
  order?: Array<[keyof T & string, 'ASC' | 'DESC']>;
  limit?: number;
  offset?: number;
}

/**
 * The hot reads of one entity (a row by id, a page of a list and its count): SQL built once per
 * shape of query and run as a prepared statement, its rows hydrated through TypeORM's own column
 * metadata (so `simple-json`, booleans and column names behave as in every other read).
 * TypeORM's repositories rebuild the SQL of a `find` on every call, which cost a single-row read
 * more than everything else in the request together (bench/README.md); all other reads and every
 * write stay on the repositories.
 */
export class EntityReader<T extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly sqlByShape = new Map<string, string>();
  private readonly columns: Array<{ column: ColumnMetadata; plain: boolean }>;

  constructor(
    private readonly dataSource: DataSource,
    target: EntityTarget<T>,
  ) {
    this.metadata = dataSource.getMetadata(target);
    if (this.metadata.embeddeds.length > 0 || this.metadata.primaryColumns.length !== 1)
      throw new Error(
        `${this.metadata.name}: EntityReader reads flat entities with one key column`,
      );
    this.columns = this.metadata.columns.map((column) => ({
      column,
      plain: !column.transformer && PLAIN_TYPES.has(String(column.type)),
    }));
  }

  async findOne(where: Where<T>): Promise<T | null> {
    const [row] = await this.find({ where, limit: 1 });
    return row ?? null;
  }

  async find(options: ReadOptions<T>): Promise<T[]> {
    const { filter, values } = this.filter(options.where ?? {});
    const order = (options.order ?? []).map(([p, direction]) => `${p}:${direction}`).join(',');
    const paged = options.limit !== undefined;
    // A deep page finds its ids in the index first and reads only those rows ("deferred join"):
    // OFFSET otherwise reads every skipped row (page 500 cost 4x page 1 on SQLite, 2x with this).
    const deep = paged && (options.offset ?? 0) > 0;
    if (paged) values.push(options.limit, options.offset ?? 0);
    const sql = this.sql(`select|${filter.shape}|${order}|${paged}|${deep}`, () => {
      const table = this.escape(this.metadata.tableName);
      const columns = this.metadata.columns.map((c) => this.escape(c.databaseName)).join(', ');
      const orderBy = (options.order ?? [])
        .map(
          ([property, direction]) =>
            `${this.escape(this.column(property).databaseName)} ${direction}`,
        )
        .join(', ');
      const ordered = orderBy ? ` ORDER BY ${orderBy}` : '';
      const window = paged
        ? ` LIMIT ${this.parameter(values.length - 2)} OFFSET ${this.parameter(values.length - 1)}`
        : '';
      if (!deep) return `SELECT ${columns} FROM ${table}${filter.sql()}${ordered}${window}`;
      const key = this.escape(this.metadata.primaryColumns[0].databaseName);
      const page = `SELECT ${key} FROM ${table}${filter.sql()}${ordered}${window}`;
      return `SELECT ${columns} FROM ${table} WHERE ${key} IN (${page})${ordered}`;
    });
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(sql, values);
    return rows.map((row) => this.hydrate(row));
  }

  async count(where: Where<T> = {}): Promise<number> {
    const { filter, values } = this.filter(where);
    const sql = this.sql(
      `count|${filter.shape}`,
      () => `SELECT COUNT(*) AS n FROM ${this.escape(this.metadata.tableName)}${filter.sql()}`,
    );
    const [row] = await this.dataSource.query<Array<{ n: number | string }>>(sql, values);
    return Number(row.n); // PostgreSQL answers a bigint as a string
  }

  /** The WHERE clause's shape (for the SQL cache), its SQL and its values in placeholder order. */
  private filter(where: Where<T>): {
    filter: { shape: string; sql: () => string };
    values: unknown[];
  } {
    const values: unknown[] = [];
    const terms: Array<{ name: string; count?: number; isNull?: true }> = [];
    for (const [property, wanted] of Object.entries(where) as Array<[string, unknown]>) {
      if (wanted === undefined) continue;
      const column = this.column(property);
      if (wanted === null) {
        terms.push({ name: column.databaseName, isNull: true });
      } else if (Array.isArray(wanted)) {
        terms.push({ name: column.databaseName, count: wanted.length });
        for (const value of wanted) values.push(this.persistent(value, column));
      } else {
        terms.push({ name: column.databaseName });
        values.push(this.persistent(wanted, column));
      }
    }
    const shape = terms
      .map((t) => `${t.name}${t.isNull ? ' null' : t.count === undefined ? '' : `[${t.count}]`}`)
      .join(',');
    const sql = () => {
      let index = 0;
      const conditions = terms.map(({ name, count, isNull }) => {
        if (isNull) return `${this.escape(name)} IS NULL`;
        if (count === undefined) return `${this.escape(name)} = ${this.parameter(index++)}`;
        if (count === 0) return '1 = 0';
        const list = Array.from({ length: count }, () => this.parameter(index++));
        return `${this.escape(name)} IN (${list.join(', ')})`;
      });
      return conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
    };
    return { filter: { shape, sql }, values };
  }

  private sql(shape: string, build: () => string): string {
    let sql = this.sqlByShape.get(shape);
    if (sql === undefined) {
      sql = build();
      this.sqlByShape.set(shape, sql);
    }
    return sql;
  }

  private hydrate(row: Record<string, unknown>): T {
    const entity = this.metadata.create() as Record<string, unknown>;
    for (const { column, plain } of this.columns) {
      const raw = row[column.databaseName];
      // Text and integers arrive as they are kept; the driver converts the rest (JSON, booleans).
      entity[column.propertyName] = plain
        ? raw
        : this.dataSource.driver.prepareHydratedValue(raw, column);
    }
    return entity as T;
  }

  private column(property: string): ColumnMetadata {
    const column = this.metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${this.metadata.name} has no column ${property}`);
    return column;
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
