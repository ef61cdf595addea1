import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { Lock } from './lock.entity';

const EXAMPLE_LOCK: Lock = {
  id: Example.id,
  environment: 'production',
  service: 'payments',
  reason: 'Migrating the ledger database',
  createdByKeyId: Example.otherId,
  createdByName: 'alice-laptop',
  createdAt: Example.time,
  expiresAt: Example.laterTime,
  endedAt: null,
  endReason: null,
  endedByKeyId: null,
};

/**
 * The `locks` table. At most one lock not ended per environment and service, and one per
 * environment with no service: two partial unique indexes, so simultaneous creations cannot both
 * win. "Not ended" includes a lock past its `expires_at` that nobody has met since: readers
 * compare `expires_at` themselves.
 */
@Injectable()
export class LocksRepository {
  private readonly table: EntityTable<Lock>;

  constructor(db: Database) {
    this.table = db.table(Lock);
  }

  @GenerateSql({ params: [EXAMPLE_LOCK] })
  insert(lock: Lock): Promise<void> {
    return this.table.insert(lock);
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Lock | null> {
    return this.table.findOne({ id });
  }

  /** The locks not ended in these environments (undefined: every one), newest first. */
  @GenerateSql(
    { name: 'one environment', params: [['production']] },
    { name: 'every environment', params: [undefined] },
  )
  findUnended(environments: readonly string[] | undefined): Promise<Lock[]> {
    return this.table.find({
      where: { environment: environments, endedAt: null },
      order: [
        ['createdAt', 'DESC'],
        ['id', 'DESC'],
      ],
    });
  }

  /** The lock not ended that holds this service's place (null: the environment-wide one). */
  @GenerateSql(
    { name: 'a service', params: ['production', 'payments'] },
    { name: 'environment-wide', params: ['production', null] },
  )
  findUnendedFor(environment: string, service: string | null): Promise<Lock | null> {
    return this.table.findOne({ environment, service, endedAt: null });
  }

  /** Ends a lock found past its `expires_at`, as of then; null if it had already ended. */
  @GenerateSql({ params: [EXAMPLE_LOCK] })
  async endExpired(lock: Lock): Promise<Lock | null> {
    const [ended] = await this.table.update(
      { id: lock.id, endedAt: null },
      { endedAt: lock.expiresAt, endReason: 'expired' },
    );
    return ended ?? null;
  }

  /** Ends a lock released by a key; null if it had already ended. */
  @GenerateSql({ params: [Example.id, Example.laterTime, Example.otherId] })
  async release(id: string, at: string, byKeyId: string): Promise<Lock | null> {
    const [ended] = await this.table.update(
      { id, endedAt: null },
      { endedAt: at, endReason: 'released', endedByKeyId: byKeyId },
    );
    return ended ?? null;
  }
}
