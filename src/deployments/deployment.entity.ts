import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum DeploymentStatus {
  Pending = 'pending',
  InProgress = 'in_progress',
  Successful = 'successful',
  Failed = 'failed',
  Cancelled = 'cancelled',
  RolledBack = 'rolled_back',
  /** Waiting for reviews before its rollout starts (its operation is held). */
  AwaitingApproval = 'awaiting_approval',
  /** A reviewer rejected it, or its wait for approvals timed out. */
  Rejected = 'rejected',
}

/**
 * A deployment not yet finished: `in_flight` of `GET /state`, and what the one-rollout rule counts
 * as running (the partial unique index `uq_deployments_active_rollout`).
 */
export const IN_FLIGHT_STATUSES: readonly DeploymentStatus[] = [
  DeploymentStatus.Pending,
  DeploymentStatus.InProgress,
  DeploymentStatus.AwaitingApproval,
];

/** One request to run a version of a service in an environment. */
@Entity('deployments')
export class Deployment {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 63 })
  service: string;

  @Column({ type: 'varchar', length: 128 })
  version: string;

  @Column({ type: 'varchar', length: 63 })
  environment: string;

  @Column({ type: 'varchar', length: 24 })
  status: DeploymentStatus;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** The name of the API key that asked for it. */
  @Column({ name: 'created_by', type: 'varchar', length: 100 })
  createdBy: string;

  @Column({ name: 'created_by_key_id', type: 'varchar', length: 36 })
  createdByKeyId: string;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt: string;

  @Column({ name: 'started_at', type: 'varchar', length: 24, nullable: true })
  startedAt: string | null;

  @Column({ name: 'finished_at', type: 'varchar', length: 24, nullable: true })
  finishedAt: string | null;

  /** The operation that carries out its rollout. */
  @Column({ name: 'operation_id', type: 'varchar', length: 36 })
  operationId: string;

  /** For a rollback: the deployment it rolls back. */
  @Column({ name: 'rollback_of', type: 'varchar', length: 36, nullable: true })
  rollbackOf: string | null;

  /** Why it was asked with an override (which passes the lock, freeze and promotion gates). */
  @Column({ name: 'override_reason', type: 'varchar', length: 500, nullable: true })
  overrideReason: string | null;

  /** Approvals its environment's policy asked for when it was created; null: none. */
  @Column({ name: 'approvals_required', type: 'integer', nullable: true })
  approvalsRequired: number | null;

  @Column({ name: 'approvals_received', type: 'integer', nullable: true })
  approvalsReceived: number | null;

  /** When waiting for approvals ends it `rejected`. */
  @Column({ name: 'approval_expires_at', type: 'varchar', length: 24, nullable: true })
  approvalExpiresAt: string | null;
}
