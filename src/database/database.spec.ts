import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { ApiKey } from '../auth/api-key.entity';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { openTransaction } from '../../test/helpers/open-transaction';
import { Database, NestedTransactionError } from './database';
import { DatabaseModule } from './database.module';

const key = (name: string): ApiKey =>
  Object.assign(new ApiKey(), {
    id: `01936f3e-2c4a-7000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
    name,
    prefix: 'fdk_test',
    secretHash: name.padEnd(64, '0'),
    permissions: [],
    environments: ['*'],
    createdByKeyId: null,
    createdAt: '2026-11-25T10:30:00.000Z',
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
  });

/** An entity with a column type EntityTable does not convert (TypeORM would store a Date its own way). */
@Entity('with_a_date')
class WithADate {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'datetime' })
  at: Date;
}

/**
 * `sqlite::memory:` has one connection (another cannot see the database), so there a read outside
 * a transaction takes its turn between groups of writes: it still never sees uncommitted rows.
 */
describe('Database on an in-memory SQLite database', () => {
  let app: INestApplication;
  let db: Database;
  let keys: ApiKeysRepository;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(AppConfig.fromEnvironment({ DATABASE_URL: 'sqlite::memory:' })),
        DatabaseModule,
        DatabaseModule.forFeature([ApiKey, WithADate]),
      ],
      providers: [ApiKeysRepository],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    db = app.get(Database);
    keys = app.get(ApiKeysRepository);
  });

  afterEach(() => app.close());

  it('should answer a read asked while a write is open with what is committed: nothing, after a rollback', async () => {
    const row = key('rolled-back');
    const writing = openTransaction(db, () => keys.insert(row));
    await writing.written;

    const read = keys.findById(row.id);
    const outcome = await writing.end('rollback');

    expect(await read).toBeNull();
    expect(outcome).toEqual(new Error('rolled back on purpose'));
  });

  it('should answer a read asked while a write is open with the row once it has committed', async () => {
    const row = key('committed');
    const writing = openTransaction(db, () => keys.insert(row));
    await writing.written;

    const read = keys.findById(row.id);
    await writing.end('commit');

    expect(await read).toStrictEqual(row);
  });

  it('should refuse at start-up a table with a column type it would not store as TypeORM does', () => {
    expect(() => db.table(WithADate)).toThrow(
      'WithADate.at: EntityTable converts varchar, text, integer, boolean and simple-json columns without transformers',
    );
  });

  it('should refuse a transaction opened inside another at once', async () => {
    const nested = await db.transaction(() =>
      db.transaction(() => keys.count()).catch((error: unknown) => error),
    );

    expect(nested).toBeInstanceOf(NestedTransactionError);
  });
});
