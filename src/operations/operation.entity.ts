import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum OperationStatus {
  Pending = 'pending',
  Running = 'running',
  Succeeded = 'succeeded',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const FINISHED_OPERATION_STATUSES = [
  OperationStatus.Succeeded,
  OperationStatus.Failed,
  OperationStatus.Cancelled,
];

/** What a finished operation produced: flat JSON values. */
export type OperationResult = Record<string, string | number | boolean | null>;

/** A long-running piece of work; the row is the truth about it, whatever runs it. */
@Entity('operations')
export class Operation {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** Which handler runs it, e.g. `deployment.rollout`. */
  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 16 })
  status: OperationStatus;

  @Column({ type: 'integer', default: 0 })
  progress: number;

  @Column({ name: 'target_type', type: 'varchar', length: 64 })
  targetType: string;

  @Column({ name: 'target_id', type: 'varchar', length: 36 })
  targetId: string;

  /** The environment the work acts on; API keys see only operations in their environments. */
  @Column({ type: 'varchar', length: 64 })
  scope: string;

  /** The latest human-readable word on what it is doing. */
  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ type: 'simple-json', nullable: true })
  result: OperationResult | null;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested: boolean;

  /** Pending but not to be started until released (a rollout waiting for approvals). */
  @Column({ type: 'boolean', default: false })
  held: boolean;

  /** The process running it, and when that process last said it still was. */
  @Column({ name: 'runner_id', type: 'varchar', length: 64, nullable: true })
  runnerId: string | null;

  @Column({ name: 'heartbeat_at', type: 'varchar', length: 24, nullable: true })
  heartbeatAt: string | null;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt: string;

  @Column({ name: 'started_at', type: 'varchar', length: 24, nullable: true })
  startedAt: string | null;

  @Column({ name: 'updated_at', type: 'varchar', length: 24 })
  updatedAt: string;

  @Column({ name: 'finished_at', type: 'varchar', length: 24, nullable: true })
  finishedAt: string | null;
}
