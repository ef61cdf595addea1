import { v7 as uuidv7 } from 'uuid';
import type { Principal } from '../auth/principal';
import { DeploymentReview, ReviewDecision } from './deployment-review.entity';
import type { ReviewResponseDto } from './dto/review.dto';

/** Reviews as the API shows them, and a submitted one as the row it becomes. */

export function toNewReview(
  deploymentId: string,
  decision: ReviewDecision,
  comment: string | undefined,
  reviewer: Principal,
  at: string,
): DeploymentReview {
  return Object.assign(new DeploymentReview(), {
    id: uuidv7(),
    deploymentId,
    decision,
    comment: comment ?? null,
    reviewerKeyId: reviewer.keyId,
    reviewerName: reviewer.name,
    at,
  });
}

export function toReviewResponse(r: DeploymentReview): ReviewResponseDto {
  return {
    id: r.id,
    decision: r.decision,
    comment: r.comment,
    reviewer: { key_id: r.reviewerKeyId, name: r.reviewerName },
    at: r.at,
  };
}
