import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum ReviewDecision {
  Approve = 'approve',
  Reject = 'reject',
}

/** One key's review of a deployment awaiting approval; one per key (a unique index). */
@Entity('deployment_reviews')
export class DeploymentReview {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'deployment_id', type: 'varchar', length: 36 })
  deploymentId: string;

  @Column({ type: 'varchar', length: 16 })
  decision: ReviewDecision;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  comment: string | null;

  @Column({ name: 'reviewer_key_id', type: 'varchar', length: 36 })
  reviewerKeyId: string;

  /** The key's name when it reviewed. */
  @Column({ name: 'reviewer_name', type: 'varchar', length: 100 })
  reviewerName: string;

  @Column({ type: 'varchar', length: 24 })
  at: string;
}
