import { Column, Entity, PrimaryColumn } from 'typeorm';

/** How a lock ended: released by a key, or past its `expires_at` (marked when next met). */
export type LockEnd = 'released' | 'expired';

/**
 * "Keep off": rollouts and rollbacks of one service (or, `service` null, of every service) in an
 * environment are refused to everyone but the key that took it, until it ends. Ended locks stay.
 */
@Entity('locks')
export class Lock {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 63 })
  environment: string;

  /** Null: every service of the environment. */
  @Column({ type: 'varchar', length: 63, nullable: true })
  service: string | null;

  @Column({ type: 'varchar', length: 500 })
  reason: string;

  @Column({ name: 'created_by_key_id', type: 'varchar', length: 36 })
  createdByKeyId: string;

  /** The key's name when it took the lock. */
  @Column({ name: 'created_by_name', type: 'varchar', length: 100 })
  createdByName: string;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt: string;

  @Column({ name: 'expires_at', type: 'varchar', length: 24, nullable: true })
  expiresAt: string | null;

  /** When it was released, or its `expires_at` once found expired; null while it holds. */
  @Column({ name: 'ended_at', type: 'varchar', length: 24, nullable: true })
  endedAt: string | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 16, nullable: true })
  endReason: LockEnd | null;

  /** The key that released it; null while it holds, or when it expired. */
  @Column({ name: 'ended_by_key_id', type: 'varchar', length: 36, nullable: true })
  endedByKeyId: string | null;
}
