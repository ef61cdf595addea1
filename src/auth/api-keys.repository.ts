import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { ApiKey } from './api-key.entity';
import { Permission } from './permission.enum';

const EXAMPLE_KEY: ApiKey = {
  id: Example.id,
  name: 'ci-payments',
  prefix: 'fdk_AbCdEfGh',
  secretHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  permissions: [Permission.DeploymentsRead, Permission.DeploymentsCreate],
  environments: ['staging'],
  createdByKeyId: Example.otherId,
  createdAt: Example.time,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
};

/** The `api_keys` table. */
@Injectable()
export class ApiKeysRepository {
  private readonly table: EntityTable<ApiKey>;

  constructor(db: Database) {
    this.table = db.table(ApiKey);
  }

  @GenerateSql({ params: [EXAMPLE_KEY] })
  insert(key: ApiKey): Promise<void> {
    return this.table.insert(key);
  }

  @GenerateSql({ params: [EXAMPLE_KEY.secretHash] })
  findBySecretHash(secretHash: string): Promise<ApiKey | null> {
    return this.table.findOne({ secretHash });
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<ApiKey | null> {
    return this.table.findOne({ id });
  }

  /**
   * The key, kept from changing until the current transaction ends (`FOR SHARE` on PostgreSQL;
   * SQLite's transactions take turns anyway).
   */
  @GenerateSql({ params: [Example.id] })
  async findByIdAndLock(id: string): Promise<ApiKey | null> {
    const [key] = await this.table.find({ where: { id }, limit: 1, lockShared: true });
    return key ?? null;
  }

  /** Every key, revoked and expired ones too. */
  @GenerateSql()
  listAll(): Promise<ApiKey[]> {
    return this.table.find({});
  }

  @GenerateSql()
  count(): Promise<number> {
    return this.table.count();
  }

  /** The keys not revoked that any of `creatorIds` created. */
  @GenerateSql({ params: [[Example.id, Example.otherId]] })
  findActiveCreatedBy(creatorIds: string[]): Promise<ApiKey[]> {
    return this.table.find({ where: { createdByKeyId: creatorIds, revokedAt: null } });
  }

  @GenerateSql({ params: [[Example.id, Example.otherId], Example.time] })
  async revoke(ids: string[], at: string): Promise<void> {
    await this.table.update({ id: ids }, { revokedAt: at });
  }

  /** Marks revoked the keys named `name` that expired by `now` and are not revoked yet. */
  @GenerateSql({ params: ['ci-payments', Example.time] })
  async revokeExpiredNamed(name: string, now: string): Promise<void> {
    await this.table.update(
      { name, revokedAt: null, expiresAt: range({ atMost: now }) },
      { revokedAt: now },
    );
  }

  /** Gives a key these permissions and environments (the admin key, as the settings say it is). */
  @GenerateSql({ params: [Example.id, Object.values(Permission), ['*']] })
  async setAccess(id: string, permissions: Permission[], environments: string[]): Promise<void> {
    await this.table.update({ id }, { permissions, environments });
  }

  @GenerateSql({ params: [Example.id, Example.time] })
  async recordUse(id: string, at: string): Promise<void> {
    await this.table.update({ id }, { lastUsedAt: at });
  }
}
