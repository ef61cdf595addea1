import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { DeploymentReview, ReviewDecision } from './deployment-review.entity';

/** The `deployment_reviews` table. Reviews are never changed nor deleted. */
@Injectable()
export class DeploymentReviewsRepository {
  private readonly table: EntityTable<DeploymentReview>;

  constructor(db: Database) {
    this.table = db.table(DeploymentReview);
  }

  /** Throws a unique violation when the key has reviewed the deployment already. */
  @GenerateSql({
    params: [
      {
        id: Example.id,
        deploymentId: Example.otherId,
        decision: ReviewDecision.Approve,
        comment: 'Looks good',
        reviewerKeyId: Example.otherId,
        reviewerName: 'alice-laptop',
        at: Example.time,
      },
    ],
  })
  insert(review: DeploymentReview): Promise<void> {
    return this.table.insert(review);
  }

  /** A deployment's reviews, oldest first. */
  @GenerateSql({ params: [Example.id] })
  findByDeployment(deploymentId: string): Promise<DeploymentReview[]> {
    return this.table.find({
      where: { deploymentId },
      order: [
        ['at', 'ASC'],
        ['id', 'ASC'],
      ],
    });
  }
}
