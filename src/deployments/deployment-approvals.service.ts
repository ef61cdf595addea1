import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { Principal, visibleEnvironments } from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { AppConfig } from '../config/app-config';
import { millisecondsBetween, nowIso } from '../database/columns';
import { Database, isUniqueViolation } from '../database/database';
import { GatesService } from '../gates/gates.service';
import { Metrics } from '../observability/metrics';
import { OperationsService } from '../operations/operations.service';
import { ReviewDecision } from './deployment-review.entity';
import { toNewReview, toReviewResponse } from './deployment-review.mapper';
import { DeploymentReviewsRepository } from './deployment-reviews.repository';
import { Deployment, DeploymentStatus } from './deployment.entity';
import { toDeploymentResponse } from './deployment.mapper';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import {
  ApprovalListResponseDto,
  CreatedReviewResponseDto,
  CreateReviewDto,
  ReviewListResponseDto,
} from './dto/review.dto';

/** How many expired waits one sweep ends at most (the next sweep takes the rest). */
const SWEEP_BATCH = 100;

/** How a review moved its deployment. */
type Outcome = 'counted' | 'approved' | 'rejected';

/**
 * Reviews of deployments awaiting approval, and the end of waits that timed out. Every move of a
 * deployment out of `awaiting_approval` is a conditional update (only if it still awaits), so
 * replicas racing for the last approval, a rejection, a cancel or the timeout sweep move it once.
 */
@Injectable()
export class DeploymentApprovalsService
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('DeploymentApprovals');
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly deploymentsService: DeploymentsService,
    private readonly deployments: DeploymentsRepository,
    private readonly reviews: DeploymentReviewsRepository,
    private readonly operations: OperationsService,
    private readonly gates: GatesService,
    private readonly db: Database,
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  /**
   * Records `principal`'s review. A rejection ends the deployment `rejected` (its operation
   * `cancelled`); the last approval needed passes the lock and freeze gates again, as the
   * requester's request, then starts the rollout (or answers `409 deployment_blocked`, recording
   * nothing).
   */
  async review(
    principal: Principal,
    id: string,
    dto: CreateReviewDto,
    audit: AuditNote,
  ): Promise<CreatedReviewResponseDto> {
    const found = await this.deploymentsService.get(principal, id);
    audit.environment = found.environment;
    audit.details = { ...audit.details, decision: dto.decision };
    if (dto.decision === ReviewDecision.Reject && dto.comment === undefined)
      throw ApiError.validation('A rejection needs a comment: say why', [
        { field: 'comment', message: 'comment is required to reject' },
      ]);
    if (found.createdByKeyId === principal.keyId)
      throw ApiError.forbidden(
        `This API key requested deployment ${id}; another key must review it`,
      );
    assertAwaiting(found);
    const at = nowIso();
    const review = toNewReview(id, dto.decision, dto.comment, principal, at);
    let outcome: Outcome;
    let deployment: Deployment;
    try {
      [outcome, deployment] = await this.db.transaction(async () => {
        await this.reviews.insert(review);
        let moved: Outcome;
        if (dto.decision === ReviewDecision.Approve)
          moved = await this.approve(id, principal, at, audit.requestId);
        else if (await this.reject(found, `Rejected by ${principal.name}: ${dto.comment}`, at))
          moved = 'rejected';
        else throw notAwaiting(id);
        return [moved, (await this.deployments.findById(id))!] as const;
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw ApiError.conflict(`This API key has already reviewed deployment ${id}`);
      throw error;
    }
    this.metrics.reviews.inc({ decision: dto.decision });
    if (outcome !== 'counted') this.observeWait(deployment, outcome, at);
    if (outcome === 'approved') await this.operations.dispatch(deployment.operationId);
    return { review: toReviewResponse(review), deployment: toDeploymentResponse(deployment) };
  }

  async list(principal: Principal, id: string): Promise<ReviewListResponseDto> {
    await this.deploymentsService.get(principal, id);
    const reviews = await this.reviews.findByDeployment(id);
    return { reviews: reviews.map(toReviewResponse) };
  }

  /** Deployments awaiting approval that `principal` may review: in its scope, not its own. */
  async awaiting(principal: Principal): Promise<ApprovalListResponseDto> {
    const awaiting = await this.deployments.findAwaitingApproval(visibleEnvironments(principal));
    return {
      deployments: awaiting
        .filter((d) => d.createdByKeyId !== principal.keyId)
        .map(toDeploymentResponse),
    };
  }

  onApplicationBootstrap(): void {
    const sweep = () =>
      this.endExpired().catch((error: unknown) =>
        this.logger.warn(`approval sweep failed: ${String(error)}`),
      );
    this.sweepTimer = setInterval(() => void sweep(), this.config.approvalSweepMs);
    this.sweepTimer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
  }

  /** Ends `rejected` the deployments whose wait for approvals timed out (each once, by one replica). */
  async endExpired(): Promise<void> {
    const expired = await this.deployments.findApprovalExpired(nowIso(), SWEEP_BATCH);
    for (const d of expired) {
      const at = nowIso();
      const message =
        `Timed out waiting for approvals: ${d.approvalsReceived ?? 0} of ${d.approvalsRequired} ` +
        `by ${d.approvalExpiresAt}`;
      const ended = await this.db.transaction(() => this.reject(d, message, at));
      if (ended) this.observeWait(d, 'timed_out', at);
    }
  }

  /**
   * Moves a deployment still awaiting approval to `rejected` and cancels its operation; answers
   * whether it did.
   */
  private async reject(d: Deployment, message: string, at: string): Promise<boolean> {
    const moved = await this.deploymentsService.recordStatus(
      d.id,
      { status: DeploymentStatus.Rejected, finishedAt: at, message, at },
      DeploymentStatus.AwaitingApproval,
    );
    if (moved) await this.operations.cancelNotStarted(d.operationId, message);
    return moved;
  }

  /**
   * Counts an approval; with the last one needed, the lock and freeze gates decide (as the
   * requester) and the rollout's operation is released. Another review counted meanwhile (another
   * replica): read again.
   */
  private async approve(
    id: string,
    reviewer: Principal,
    at: string,
    requestId: string,
  ): Promise<Outcome> {
    for (;;) {
      const d = await this.deployments.findById(id);
      if (!d) throw notAwaiting(id);
      assertAwaiting(d);
      const received = d.approvalsReceived ?? 0;
      const required = d.approvalsRequired ?? 1;
      if (received + 1 < required) {
        if (await this.deployments.countApproval(id, received)) return 'counted';
        continue;
      }
      const requester: Principal = { ...reviewer, keyId: d.createdByKeyId, name: d.createdBy };
      await this.gates.assertOpen(
        {
          principal: requester,
          service: d.service,
          version: d.version,
          environment: d.environment,
          kind: 'rollout',
          at,
          requestId,
        },
        d.overrideReason !== null,
        ['lock', 'freeze'],
      );
      const moved = await this.deploymentsService.recordStatus(
        id,
        {
          status: DeploymentStatus.Pending,
          approvalsReceived: received + 1,
          message: `Approved by ${reviewer.name} (${received + 1}/${required}); rollout starting`,
          at,
        },
        DeploymentStatus.AwaitingApproval,
      );
      if (!moved) continue;
      await this.operations.release(d.operationId);
      return 'approved';
    }
  }

  private observeWait(d: Deployment, outcome: string, at: string): void {
    this.metrics.approvalWait.observe({ outcome }, millisecondsBetween(d.createdAt, at) / 1000);
  }
}

function assertAwaiting(d: Deployment): void {
  if (d.status !== DeploymentStatus.AwaitingApproval) throw notAwaiting(d.id, d.status);
}

function notAwaiting(id: string, status?: DeploymentStatus): ApiError {
  return ApiError.conflict(
    `Deployment ${id} is not awaiting approval${status ? ` (it is ${status})` : ''}`,
    status ? { status } : undefined,
  );
}
