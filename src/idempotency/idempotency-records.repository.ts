import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { IdempotencyRecord } from './idempotency-record.entity';

/** The `idempotency_records` table: one row per API key and `Idempotency-Key`. */
@Injectable()
export class IdempotencyRecordsRepository {
  private readonly table: EntityTable<IdempotencyRecord>;

  constructor(db: Database) {
    this.table = db.table(IdempotencyRecord);
  }

  /** Claims the key (a unique violation when it is taken). */
  insert(record: IdempotencyRecord): Promise<void> {
    return this.table.insert(record);
  }

  findByKey(apiKeyId: string, idempotencyKey: string): Promise<IdempotencyRecord | null> {
    return this.table.findOne({ apiKeyId, idempotencyKey });
  }

  /** Stores the first request's response, to replay to retries. */
  async saveResponse(
    apiKeyId: string,
    idempotencyKey: string,
    response: { status: number; body: string; location: string | null },
  ): Promise<void> {
    await this.table.update(
      { apiKeyId, idempotencyKey },
      {
        responseStatus: response.status,
        responseBody: response.body,
        responseLocation: response.location,
      },
    );
  }

  /** Deletes the key's record; with `createdAt`, only if it is still the one created then. */
  async delete(apiKeyId: string, idempotencyKey: string, createdAt?: string): Promise<void> {
    await this.table.delete({ apiKeyId, idempotencyKey, ...(createdAt ? { createdAt } : {}) });
  }

  async deleteExpired(now: string): Promise<void> {
    await this.table.delete({ expiresAt: range({ atMost: now }) });
  }
}
