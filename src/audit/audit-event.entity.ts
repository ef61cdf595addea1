import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Who did what: one row per mutating request and per refused (401/403) one. Never a secret. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 24 })
  at: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128 })
  requestId: string;

  /** The API key that made the request; null when it did not authenticate. */
  @Column({ name: 'actor_key_id', type: 'varchar', length: 36, nullable: true })
  actorKeyId: string | null;

  @Column({ name: 'actor_name', type: 'varchar', length: 100, nullable: true })
  actorName: string | null;

  /** `METHOD /route/pattern`, e.g. `POST /api/v1/deployments/:id/rollback`. */
  @Column({ type: 'varchar', length: 160 })
  action: string;

  @Column({ name: 'target_type', type: 'varchar', length: 32, nullable: true })
  targetType: string | null;

  @Column({ name: 'target_id', type: 'varchar', length: 64, nullable: true })
  targetId: string | null;

  /**
   * The environment of the deployment or operation the request was about; null for keys and
   * settings, and for requests refused before that was known. Keys see only their environments'.
   */
  @Column({ type: 'varchar', length: 63, nullable: true })
  environment: string | null;

  /** `succeeded`, `denied` (401/403) or `failed` (any other error). */
  @Column({ type: 'varchar', length: 16 })
  outcome: string;

  @Column({ type: 'integer' })
  status: number;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ name: 'source_ip', type: 'varchar', length: 64, nullable: true })
  sourceIp: string | null;

  /** What the request or event says beyond the columns (an override's reason), as JSON. */
  @Column({ type: 'simple-json', nullable: true })
  details: Record<string, unknown> | null;
}
