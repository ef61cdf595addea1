import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { IdempotencyRecord } from './idempotency-record.entity';

/** The `idempotency_records` table: one row per API key and `Idempotency-Key`. */
@Injectable()
export class IdempotencyRecordsRepository {
  private readonly table: EntityTable<IdempotencyRecord>;

  constructor(db: Database) {
    this.table = db.table(IdempotencyRecord);
  }

  /** Claims the key (a unique violation when it is taken). */
  @GenerateSql({
    params: [
      {
        apiKeyId: Example.id,
        idempotencyKey: 'deploy-payments-1.4.2',
        fingerprint: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        responseStatus: null,
        responseBody: null,
        responseLocation: null,
        createdAt: Example.time,
        expiresAt: Example.laterTime,
      },
    ],
  })
  insert(record: IdempotencyRecord): Promise<void> {
    return this.table.insert(record);
  }

  @GenerateSql({ params: [Example.id, 'deploy-payments-1.4.2'] })
  findByKey(apiKeyId: string, idempotencyKey: string): Promise<IdempotencyRecord | null> {
    return this.table.findOne({ apiKeyId, idempotencyKey });
  }

  /** Stores the first request's response, to replay to retries. */
  @GenerateSql({
    params: [
      Example.id,
      'deploy-payments-1.4.2',
      {
        responseStatus: 201,
        responseBody: '{"id":"…"}',
        responseLocation: null,
        responseType: 'application/json; charset=utf-8',
      },
    ],
  })
  async saveResponse(
    apiKeyId: string,
    idempotencyKey: string,
    answer: Pick<
      IdempotencyRecord,
      'responseStatus' | 'responseBody' | 'responseLocation' | 'responseType'
    >,
  ): Promise<void> {
    await this.table.update({ apiKeyId, idempotencyKey }, answer);
  }

  /** Deletes the key's record; with `createdAt`, only if it is still the one created then. */
  @GenerateSql(
    { name: 'any', params: [Example.id, 'deploy-payments-1.4.2'] },
    { name: 'the one created then', params: [Example.id, 'deploy-payments-1.4.2', Example.time] },
  )
  async delete(apiKeyId: string, idempotencyKey: string, createdAt?: string): Promise<void> {
    await this.table.delete({ apiKeyId, idempotencyKey, ...(createdAt ? { createdAt } : {}) });
  }

  @GenerateSql({ params: [Example.time] })
  async deleteExpired(now: string): Promise<void> {
    await this.table.delete({ expiresAt: range({ atMost: now }) });
  }
}
