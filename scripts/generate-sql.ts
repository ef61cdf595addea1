// Writes the SQL every repository method runs, per database, to sql/<database>/<file>.sql
// (`npm run sql`), or with --check fails when the committed files differ from the code
// (`npm run sql:check`, run in CI). Each method is called with the example arguments of its
// @GenerateSql on a scratch database of each kind (a temporary SQLite file; a PostgreSQL database
// created beside SQL_POSTGRES_URL's and dropped after), and the statements it sends are recorded.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../src/config/app-config';
import { Database, Dialect } from '../src/database/database';
import { typeOrmOptions } from '../src/database/database.module';
import { sqlExamples } from '../src/database/generate-sql';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'sql');
const POSTGRES_URL = process.env.SQL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

/** A Database that records the SQL of every statement it runs. */
class RecordingDatabase extends Database {
  recorded: string[] = [];

  override read(sql: string, values: unknown[]): Promise<unknown[][]> {
    this.recorded.push(sql);
    return super.read(sql, values);
  }

  override write(sql: string, values: unknown[]): Promise<{ rows: unknown[][]; changed: number }> {
    this.recorded.push(sql);
    return super.write(sql, values);
  }
}

type Repository = new (db: Database) => Record<string, (...args: unknown[]) => Promise<unknown>>;

/** src/**\/<suffix> files, sorted, as paths relative to the repository root. */
function sourceFiles(suffix: string): string[] {
  return (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
    .filter((file) => file.endsWith(suffix))
    .map((file) => join('src', file))
    .sort();
}

function classesIn(file: string): Array<{ name: string; value: unknown }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(join(ROOT, file)) as Record<string, unknown>;
  return Object.entries(exported)
    .filter(([, value]) => typeof value === 'function')
    .map(([name, value]) => ({ name, value }));
}

/** A fresh, migrated database of this kind, and how to drop it. */
async function scratchDatabase(
  dialect: Dialect,
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'fd-sql-'));
    return {
      url: `sqlite:${join(dir, 'sql.db')}`,
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `fd_sql_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Top-level clauses on lines of their own (subqueries stay on their line). */
function format(sql: string): string {
  const clause = /^ (FROM|WHERE|ORDER BY|LIMIT|SET|VALUES|RETURNING) /;
  let depth = 0;
  let out = '';
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ' ' && depth === 0 && clause.test(sql.slice(i))) {
      out += '\n';
      continue;
    }
    out += c;
  }
  return `${out};`;
}

const ROLLBACK = new Error('rolled back: the example changes nothing');
const isWriteOutsideTransaction = (error: unknown): boolean =>
  error instanceof Error && error.message === 'writes run inside Database.transaction';

/** An error the database raised (an example may break a constraint: its SQL is what counts). */
const isDatabaseError = (error: unknown): boolean =>
  typeof (error as { code?: unknown } | null)?.code === 'string';

/** The statements one call sends: outside a transaction, and inside one (rolled back). */
async function record(
  db: RecordingDatabase,
  call: () => Promise<unknown>,
): Promise<{ outside?: string[]; inside: string[] }> {
  const run = async (inTransaction: boolean): Promise<string[]> => {
    db.recorded = [];
    const tolerated = (error: unknown) => {
      if (!isDatabaseError(error)) throw error;
    };
    if (!inTransaction) await call().catch(tolerated);
    else
      await db
        .transaction(async () => {
          await call().catch(tolerated);
          throw ROLLBACK;
        })
        .catch((error: unknown) => {
          if (error !== ROLLBACK) throw error;
        });
    return db.recorded;
  };
  let outside: string[] | undefined;
  try {
    outside = await run(false);
  } catch (error) {
    if (!isWriteOutsideTransaction(error)) throw error;
  }
  return { outside, inside: await run(true) };
}

async function generate(dialect: Dialect): Promise<Map<string, string>> {
  const scratch = await scratchDatabase(dialect);
  const config = AppConfig.fromEnvironment({ DATABASE_URL: scratch.url });
  const entities = sourceFiles('.entity.ts').flatMap((file) => classesIn(file).map((c) => c.value));
  const dataSource = new DataSource({
    ...(typeOrmOptions(config) as DataSourceOptions),
    entities: entities as DataSourceOptions['entities'],
  });
  await dataSource.initialize();
  const db = new RecordingDatabase(dataSource);
  const files = new Map<string, string>();
  try {
    for (const file of sourceFiles('.repository.ts')) {
      const lines = [
        `-- Generated by \`npm run sql\` from ${file}: the SQL each repository method runs on`,
        `-- ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, called with the example arguments of its @GenerateSql. Do not edit.`,
      ];
      for (const { name, value } of classesIn(file)) {
        if (!name.endsWith('Repository')) continue;
        const repositoryClass = value as Repository;
        const parameters = Reflect.getMetadata('design:paramtypes', repositoryClass) as unknown[];
        if (parameters.length !== 1 || parameters[0] !== Database)
          throw new Error(`${name}: a repository takes only Database`);
        const repository = new repositoryClass(db);
        const examples = sqlExamples(repositoryClass);
        const methods = Object.getOwnPropertyNames(repositoryClass.prototype).filter(
          (method) => method !== 'constructor',
        );
        for (const method of methods) {
          const calls = examples.get(method);
          if (!calls)
            throw new Error(
              `${name}.${method} has no @GenerateSql: add one with example arguments`,
            );
          for (const example of calls) {
            const { outside, inside } = await record(db, () =>
              repository[method](...example.params),
            );
            lines.push('', `-- ${name}.${method}${example.name ? ` (${example.name})` : ''}`);
            lines.push(`-- params: ${JSON.stringify(example.params)}`);
            lines.push(...(outside ?? inside).map(format));
            if (outside && outside.join() !== inside.join()) {
              lines.push('-- in a transaction:', ...inside.map(format));
            }
          }
        }
      }
      files.set(join(dialect, `${basename(file, '.ts')}.sql`), `${lines.join('\n')}\n`);
    }
  } finally {
    await db.onApplicationShutdown();
    await dataSource.destroy();
    await scratch.drop();
  }
  return files;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const files = new Map<string, string>();
  for (const dialect of DIALECTS)
    for (const [path, text] of await generate(dialect)) files.set(path, text);
  const committed = DIALECTS.flatMap((dialect) =>
    existsSync(join(OUT, dialect))
      ? readdirSync(join(OUT, dialect)).map((f) => join(dialect, f))
      : [],
  );
  if (check) {
    const differ = [...files].filter(
      ([path, text]) =>
        !existsSync(join(OUT, path)) || readFileSync(join(OUT, path), 'utf8') !== text,
    );
    const stale = committed.filter((path) => !files.has(path));
    if (differ.length > 0 || stale.length > 0) {
      for (const [path] of differ) console.error(`sql/${path} differs from what the code runs`);
      for (const path of stale) console.error(`sql/${path} belongs to no repository`);
      console.error(
        'The SQL snapshots are out of date with the code: run `npm run sql` and commit them.',
      );
      process.exit(1);
    }
    console.log(`sql/: ${files.size} files match the code`);
    return;
  }
  for (const path of committed) if (!files.has(path)) rmSync(join(OUT, path));
  for (const [path, text] of files) {
    mkdirSync(dirname(join(OUT, path)), { recursive: true });
    writeFileSync(join(OUT, path), text);
  }
  console.log(`wrote ${files.size} files to ${relative(process.cwd(), OUT) || 'sql'}/`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
