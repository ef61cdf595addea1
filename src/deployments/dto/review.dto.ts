import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsIn, ValidateIf } from 'class-validator';
import { IsReason, MAX_REASON_CHARS, SINGLE_LINE_DOC } from '../../common/validation';
import { ReviewDecision } from '../deployment-review.entity';
import { DeploymentResponseDto } from './deployment-response.dto';

const DECISIONS = Object.values(ReviewDecision);

export class CreateReviewDto {
  @ApiProperty({ enum: ReviewDecision, example: ReviewDecision.Approve })
  @IsDefined({ message: 'decision is required' })
  @IsIn(DECISIONS, { message: `decision must be one of: ${DECISIONS.join(', ')}` })
  decision: ReviewDecision;

  @ApiPropertyOptional({
    example: 'Checked the migration plan',
    minLength: 1,
    maxLength: MAX_REASON_CHARS,
    description: `Required to reject (the reason shown to the requester). ${SINGLE_LINE_DOC}`,
  })
  // Required to reject, which the service checks once the deployment is found (an unknown id is
  // 404 whatever the body); here only its form.
  @ValidateIf((o: CreateReviewDto) => o.comment !== undefined)
  @IsReason('comment')
  comment?: string;
}

export class ReviewerDto {
  @ApiProperty({ example: '0193a6f1-7f3a-7c41-9d5e-3a1f0e2b4c5d' })
  key_id: string;

  @ApiProperty({ example: 'alice-laptop', description: "The key's name when it reviewed." })
  name: string;
}

export class ReviewResponseDto {
  @ApiProperty({ example: '0193a6f4-1a2b-7c3d-8e4f-5a6b7c8d9e0f' })
  id: string;

  @ApiProperty({ enum: ReviewDecision, example: ReviewDecision.Approve })
  decision: ReviewDecision;

  @ApiProperty({ example: 'Checked the migration plan', nullable: true, type: String })
  comment: string | null;

  @ApiProperty({ type: ReviewerDto })
  reviewer: ReviewerDto;

  @ApiProperty({ example: '2026-11-25T10:35:00.000Z' })
  at: string;
}

export class CreatedReviewResponseDto {
  @ApiProperty({ type: ReviewResponseDto })
  review: ReviewResponseDto;

  @ApiProperty({
    type: DeploymentResponseDto,
    description:
      'The deployment after the review: still `awaiting_approval`, `pending` (approved: its rollout starts) or `rejected`.',
  })
  deployment: DeploymentResponseDto;
}

export class ReviewListResponseDto {
  @ApiProperty({ type: [ReviewResponseDto], description: 'Oldest first.' })
  reviews: ReviewResponseDto[];
}

export class ApprovalListResponseDto {
  @ApiProperty({
    type: [DeploymentResponseDto],
    description:
      'Deployments awaiting approval that this key may review (in its environments, not its own), oldest first.',
  })
  deployments: DeploymentResponseDto[];
}
