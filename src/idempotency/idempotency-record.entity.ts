import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The first response to a request made with an `Idempotency-Key`, kept to replay to retries. */
@Entity('idempotency_records')
export class IdempotencyRecord {
  @PrimaryColumn({ name: 'api_key_id', type: 'varchar', length: 36 })
  apiKeyId: string;

  @PrimaryColumn({ name: 'idempotency_key', type: 'varchar', length: 255 })
  idempotencyKey: string;

  /** SHA-256 of method, path and body: a retry must match it. */
  @Column({ type: 'varchar', length: 64 })
  fingerprint: string;

  /** Null while the first request is still being handled. */
  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus: number | null;

  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody: string | null;

  @Column({ name: 'response_location', type: 'text', nullable: true })
  responseLocation: string | null;

  /** The answer's `Content-Type`; null for an empty answer, and in records kept before it was (JSON). */
  @Column({ name: 'response_type', type: 'varchar', length: 255, nullable: true })
  responseType: string | null;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt: string;

  @Column({ name: 'expires_at', type: 'varchar', length: 24 })
  expiresAt: string;
}
