import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { assertEnvironmentAllowed, Principal } from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { Deployment, DeploymentStatus } from './deployment.entity';
import type { OverrideDto } from './dto/override.dto';
import {
  DeploymentsService,
  overrideReasonOf,
  ROLLBACK_OPERATION,
  StartedDeployment,
} from './deployments.service';

/**
 * Rolls a deployment back the Kubernetes way: by rolling forward to the last version that
 * succeeded before it, as a new deployment.
 */
@Injectable()
export class DeploymentRollbackService {
  constructor(private readonly deploymentsService: DeploymentsService) {}

  async rollback(
    principal: Principal,
    id: string,
    reason: string | null,
    override: OverrideDto | undefined,
    audit: AuditNote,
  ): Promise<StartedDeployment> {
    const existing = await this.deploymentsService.findById(id);
    if (!existing) throw ApiError.notFound('Deployment', id);
    audit.environment = existing.environment;
    assertEnvironmentAllowed(principal, existing.environment);
    const overrideReason = overrideReasonOf(principal, override, audit);
    return this.deploymentsService.start(
      principal,
      async () => {
        const current = await this.deploymentsService.findById(id);
        if (!current) throw ApiError.notFound('Deployment', id);
        assertCanBeRolledBack(current);
        // Decided in the transaction that writes the rollback: rolling back an older deployment
        // would deploy something older than what runs now while the newer one stays `successful`.
        const newest = await this.deploymentsService.currentOf(current);
        if (newest && newest.id !== current.id) {
          throw ApiError.conflict(
            `Deployment ${id} (version ${current.version}) is not the current deployment of ${current.service} ` +
              `in ${current.environment}: ${newest.id} (version ${newest.version}) is; only the current one can be rolled back`,
            { current_deployment_id: newest.id, current_version: newest.version },
          );
        }
        const target = await this.deploymentsService.lastSuccessfulBefore(current);
        if (!target) {
          throw ApiError.conflict(
            `Nothing to roll back to: no successful deployment of ${current.service} to ${current.environment} came before ${id}`,
          );
        }
        const because = reason ? `: ${reason}` : '';
        return {
          service: current.service,
          version: target.version,
          environment: current.environment,
          description: `Rollback of ${current.version} (${id}) to ${target.version}${because}`,
          rollbackOf: current.id,
          operationType: ROLLBACK_OPERATION,
          message: `Rollback of ${id} to version ${target.version} requested by ${principal.name}${because}`,
          overrideReason,
        };
      },
      audit,
    );
  }
}

/**
 * Only a deployment that went live can be rolled back. A failed or cancelled rollout may not have
 * replaced what ran before, so "undo" has no clear meaning: deploy the wanted version instead.
 */
export function assertCanBeRolledBack(deployment: Deployment): void {
  switch (deployment.status) {
    case DeploymentStatus.Successful:
      return;
    case DeploymentStatus.Failed:
      throw new ApiError(
        ErrorCode.DeploymentFailed,
        `Deployment ${deployment.id} failed, so version ${deployment.version} never went live and there is ` +
          'nothing to roll back; deploy the version you want instead',
      );
    case DeploymentStatus.Cancelled:
      throw ApiError.conflict(
        `Deployment ${deployment.id} was cancelled, so there is nothing to roll back; deploy the version you want instead`,
      );
    case DeploymentStatus.Rejected:
      throw ApiError.conflict(
        `Deployment ${deployment.id} was rejected and never went live, so there is nothing to roll back`,
      );
    case DeploymentStatus.Pending:
    case DeploymentStatus.InProgress:
    case DeploymentStatus.AwaitingApproval:
      throw ApiError.conflict(
        `Deployment ${deployment.id} is still ${deployment.status}; cancel its operation ${deployment.operationId} first`,
      );
    case DeploymentStatus.RolledBack:
      throw ApiError.conflict(`Deployment ${deployment.id} has already been rolled back`);
  }
}
