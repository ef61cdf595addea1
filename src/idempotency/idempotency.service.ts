import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { nowIso } from '../database/columns';
import { Database, isUniqueViolation } from '../database/database';
import { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyRecordsRepository } from './idempotency-records.repository';

/** How long a key's response is kept (Stripe keeps 24 hours too). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A first request still "in progress" after this long died with its process; a retry may take over. */
const ABANDONED_AFTER_MS = 60_000;
const CLEANUP_EVERY_MS = 60 * 60 * 1000;

/** Keeps, per API key and `Idempotency-Key`, the first request's fingerprint and response. */
@Injectable()
export class IdempotencyService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Idempotency');
  private cleanup?: NodeJS.Timeout;

  constructor(
    private readonly records: IdempotencyRecordsRepository,
    private readonly db: Database,
  ) {}

  onModuleInit(): void {
    this.cleanup = setInterval(() => void this.deleteExpired(), CLEANUP_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.cleanup);
  }

  /**
   * Claims the key for this request (resolves null: go ahead and handle it), or resolves the
   * stored response to replay. A different request under the same key is refused with 422, and a
   * retry while the first is still being handled with 409.
   */
  async begin(
    apiKeyId: string,
    key: string,
    fingerprint: string,
  ): Promise<IdempotencyRecord | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = Date.now();
      try {
        await this.db.transaction(() =>
          this.records.insert({
            apiKeyId,
            idempotencyKey: key,
            fingerprint,
            responseStatus: null,
            responseBody: null,
            responseLocation: null,
            responseType: null,
            createdAt: new Date(now).toISOString(),
            expiresAt: new Date(now + IDEMPOTENCY_TTL_MS).toISOString(),
          }),
        );
        return null;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      const existing = await this.records.findByKey(apiKeyId, key);
      if (!existing) continue;
      const abandoned =
        existing.responseStatus === null &&
        Date.parse(existing.createdAt) < now - ABANDONED_AFTER_MS;
      if (existing.expiresAt <= new Date(now).toISOString() || abandoned) {
        await this.forget(apiKeyId, key, existing.createdAt);
        continue;
      }
      if (existing.fingerprint !== fingerprint) {
        throw new ApiError(
          ErrorCode.IdempotencyKeyReused,
          'This Idempotency-Key was already used for a different request (method, path or body); use a new key',
        );
      }
      if (existing.responseStatus === null) {
        throw ApiError.conflict(
          'A request with this Idempotency-Key is still being handled; retry shortly',
        );
      }
      return existing;
    }
    throw ApiError.conflict(
      'This Idempotency-Key is being used by concurrent requests; retry shortly',
    );
  }

  /** Keeps the answer to replay: its status, body, and the `Location` and `Content-Type` it had. */
  async complete(
    apiKeyId: string,
    key: string,
    answer: Pick<
      IdempotencyRecord,
      'responseStatus' | 'responseBody' | 'responseLocation' | 'responseType'
    >,
  ): Promise<void> {
    await this.db.transaction(() => this.records.saveResponse(apiKeyId, key, answer));
  }

  /** Lets a retry run the request again (it was refused before it did anything, or failed inside). */
  async forget(apiKeyId: string, key: string, createdAt?: string): Promise<void> {
    await this.db.transaction(() => this.records.delete(apiKeyId, key, createdAt));
  }

  private async deleteExpired(): Promise<void> {
    try {
      await this.db.transaction(() => this.records.deleteExpired(nowIso()));
    } catch (error) {
      this.logger.warn(`could not delete expired idempotency records: ${String(error)}`);
    }
  }
}
