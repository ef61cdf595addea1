import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { Database, MAX_POOL_CONNECTIONS } from './database';
import { InitialSchema1764000000000 } from './migrations/1764000000000-initial-schema';
import { OperationLogLines1764000000001 } from './migrations/1764000000001-operation-log-lines';
import { IdempotencyRecords1764000000002 } from './migrations/1764000000002-idempotency-records';
import { AuditEvents1764000000003 } from './migrations/1764000000003-audit-events';
import { ApiKeyLineage1764000000004 } from './migrations/1764000000004-api-key-lineage';
import { AuditEventEnvironment1764000000005 } from './migrations/1764000000005-audit-event-environment';
import { IdempotencyResponseType1764000000006 } from './migrations/1764000000006-idempotency-response-type';
import { DeploymentCounts1764000000007 } from './migrations/1764000000007-deployment-counts';
import { LocksAndOverrides1764000000008 } from './migrations/1764000000008-locks-and-overrides';
import { Freezes1764000000009 } from './migrations/1764000000009-freezes';
import { ServiceEnvironments1764000000010 } from './migrations/1764000000010-service-environments';
import { DeploymentsByVersion1764000000011 } from './migrations/1764000000011-deployments-by-version';
import { Approvals1764000000012 } from './migrations/1764000000012-approvals';

export const MIGRATIONS = [
  InitialSchema1764000000000,
  OperationLogLines1764000000001,
  IdempotencyRecords1764000000002,
  AuditEvents1764000000003,
  ApiKeyLineage1764000000004,
  AuditEventEnvironment1764000000005,
  IdempotencyResponseType1764000000006,
  DeploymentCounts1764000000007,
  LocksAndOverrides1764000000008,
  Freezes1764000000009,
  ServiceEnvironments1764000000010,
  DeploymentsByVersion1764000000011,
  Approvals1764000000012,
];

/** TypeORM options for the configured database; the schema always comes from the migrations. */
export function typeOrmOptions(config: AppConfig): TypeOrmModuleOptions {
  const common = {
    autoLoadEntities: true,
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
  };
  if (config.database.type === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: config.database.url,
      extra: { max: MAX_POOL_CONNECTIONS },
    };
  }
  const file = config.database.database;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    enableWAL: file !== ':memory:',
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('busy_timeout = 5000');
      // With WAL, NORMAL stays consistent after any crash of the process and skips an fsync per commit.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Checkpoint the WAL every ~40 MB rather than every 4 MB: pages rewritten in between (index
      // pages of recent rows, most of all) are copied to the database file once, not each time.
      db.pragma('wal_autocheckpoint = 10000');
    },
  };
}

@Module({
  imports: [TypeOrmModule.forRootAsync({ inject: [AppConfig], useFactory: typeOrmOptions })],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {
  /** Registers a module's entities with the data source (their repositories use `Database.table`). */
  static forFeature(entities: Array<new () => object>): DynamicModule {
    return TypeOrmModule.forFeature(entities);
  }
}
