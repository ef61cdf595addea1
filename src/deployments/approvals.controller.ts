import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditNote, ForAudit } from '../audit/audit-note';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Permission } from '../auth/permission.enum';
import type { Principal } from '../auth/principal';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { ResourceIdPipe } from '../common/resource-id.pipe';
import { DeploymentApprovalsService } from './deployment-approvals.service';
import {
  ApprovalListResponseDto,
  CreatedReviewResponseDto,
  CreateReviewDto,
  ReviewListResponseDto,
} from './dto/review.dto';

@ApiTags('approvals')
@Controller('api/v1')
export class ApprovalsController {
  constructor(private readonly approvals: DeploymentApprovalsService) {}

  @Post('deployments/:id/reviews')
  @RequirePermissions(Permission.DeploymentsApprove)
  @ApiOperation({
    operationId: 'reviewDeployment',
    summary: 'Approve or reject a deployment awaiting approval',
    description:
      'One review per key (a second: `409 conflict`); the key that requested the deployment may not review it ' +
      "(403); a deployment outside the key's environments: 404; one not `awaiting_approval`: `409 conflict`. " +
      'Rejecting needs a `comment`, and ends the deployment `rejected` (its operation `cancelled`). With the last ' +
      'approval needed, the lock and freeze gates decide again, as the request of the key that asked for the ' +
      'deployment: if one blocks, `409 deployment_blocked` and the review is not recorded; else the rollout starts.',
  })
  @ApiCreatedResponse({ type: CreatedReviewResponseDto })
  @ApiErrorResponses(
    ErrorCode.ValidationError,
    ErrorCode.AuthorizationError,
    ErrorCode.ResourceNotFound,
    ErrorCode.Conflict,
    ErrorCode.DeploymentBlocked,
    ErrorCode.PayloadTooLarge,
  )
  review(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Deployment')) id: string,
    @Body() dto: CreateReviewDto,
    @ForAudit() audit: AuditNote,
  ): Promise<CreatedReviewResponseDto> {
    return this.approvals.review(principal, id, dto, audit);
  }

  @Get('deployments/:id/reviews')
  @RequirePermissions(Permission.DeploymentsRead)
  @ApiOperation({
    operationId: 'listDeploymentReviews',
    summary: "A deployment's reviews, oldest first",
    description: "Answers 404 for an unknown id or one outside the key's environments.",
  })
  @ApiOkResponse({ type: ReviewListResponseDto })
  @ApiErrorResponses(ErrorCode.ResourceNotFound)
  reviews(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ResourceIdPipe('Deployment')) id: string,
  ): Promise<ReviewListResponseDto> {
    return this.approvals.list(principal, id);
  }

  @Get('approvals')
  @RequirePermissions(Permission.DeploymentsApprove)
  @ApiOperation({
    operationId: 'listAwaitingApprovals',
    summary: 'Deployments this key may review, oldest first',
    description:
      "Deployments `awaiting_approval` in the key's environments that it did not request itself.",
  })
  @ApiOkResponse({ type: ApprovalListResponseDto })
  @ApiErrorResponses()
  awaiting(@CurrentPrincipal() principal: Principal): Promise<ApprovalListResponseDto> {
    return this.approvals.awaiting(principal);
  }
}
