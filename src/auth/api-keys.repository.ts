import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { ApiKey } from './api-key.entity';

/** The `api_keys` table. */
@Injectable()
export class ApiKeysRepository {
  private readonly table: EntityTable<ApiKey>;

  constructor(db: Database) {
    this.table = db.table(ApiKey);
  }

  insert(key: ApiKey): Promise<void> {
    return this.table.insert(key);
  }

  findBySecretHash(secretHash: string): Promise<ApiKey | null> {
    return this.table.findOne({ secretHash });
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.table.findOne({ id });
  }

  /**
   * The key, kept from changing until the current transaction ends (`FOR SHARE` on PostgreSQL;
   * SQLite's transactions take turns anyway).
   */
  async findByIdAndLock(id: string): Promise<ApiKey | null> {
    const [key] = await this.table.find({ where: { id }, limit: 1, lockShared: true });
    return key ?? null;
  }

  /** Every key, revoked and expired ones too. */
  listAll(): Promise<ApiKey[]> {
    return this.table.find({});
  }

  count(): Promise<number> {
    return this.table.count();
  }

  /** The keys not revoked that any of `creatorIds` created. */
  findActiveCreatedBy(creatorIds: string[]): Promise<ApiKey[]> {
    return this.table.find({ where: { createdByKeyId: creatorIds, revokedAt: null } });
  }

  async revoke(ids: string[], at: string): Promise<void> {
    await this.table.update({ id: ids }, { revokedAt: at });
  }

  /** Marks revoked the keys named `name` that expired by `now` and are not revoked yet. */
  async revokeExpiredNamed(name: string, now: string): Promise<void> {
    await this.table.update(
      { name, revokedAt: null, expiresAt: range({ atMost: now }) },
      { revokedAt: now },
    );
  }

  async recordUse(id: string, at: string): Promise<void> {
    await this.table.update({ id }, { lastUsedAt: at });
  }
}
