import { v7 as uuidv7 } from 'uuid';
import type { Principal } from '../auth/principal';
import { millisecondsBetween } from '../database/columns';
import type { GateVerdict } from '../gates/gate';
import { blockingVerdicts } from '../gates/gates.service';
import type { Operation } from '../operations/operation.entity';
import { toOperationResponse } from '../operations/operation.mapper';
import type { DeploymentEvent } from './deployment-event.entity';
import { Deployment, DeploymentStatus } from './deployment.entity';
import type {
  AcceptedDeploymentResponseDto,
  DeploymentEventDto,
  DeploymentResponseDto,
  RollbackResponseDto,
} from './dto/deployment-response.dto';
import type { GateVerdictDto, PreflightResponseDto } from './dto/preflight.dto';

/** Deployments as the API shows them, and a requested one as the row it becomes. */

/**
 * A new deployment (and the id of its operation), as `principal` asked for it: pending, or
 * awaiting `approvals` until `timeoutMinutes` from now.
 */
export function toNewDeployment(
  requested: Pick<
    Deployment,
    'service' | 'version' | 'environment' | 'description' | 'rollbackOf' | 'overrideReason'
  >,
  principal: Principal,
  now: string,
  approvals: { required: number; timeoutMinutes: number } | null = null,
): Deployment {
  return Object.assign(new Deployment(), {
    id: uuidv7(),
    service: requested.service,
    version: requested.version,
    environment: requested.environment,
    status: approvals ? DeploymentStatus.AwaitingApproval : DeploymentStatus.Pending,
    description: requested.description,
    createdBy: principal.name,
    createdByKeyId: principal.keyId,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    operationId: uuidv7(),
    rollbackOf: requested.rollbackOf,
    overrideReason: requested.overrideReason,
    approvalsRequired: approvals?.required ?? null,
    approvalsReceived: approvals ? 0 : null,
    approvalExpiresAt: approvals
      ? new Date(Date.parse(now) + approvals.timeoutMinutes * 60_000).toISOString()
      : null,
  });
}

export function toDeploymentResponse(d: Deployment): DeploymentResponseDto {
  const duration =
    d.startedAt && d.finishedAt ? millisecondsBetween(d.startedAt, d.finishedAt) / 1000 : null;
  return {
    id: d.id,
    service: d.service,
    version: d.version,
    environment: d.environment,
    status: d.status,
    description: d.description,
    created_by: d.createdBy,
    created_at: d.createdAt,
    started_at: d.startedAt,
    finished_at: d.finishedAt,
    duration_seconds: duration,
    operation_id: d.operationId,
    rollback_of: d.rollbackOf,
    override_reason: d.overrideReason,
    approvals:
      d.approvalsRequired === null
        ? null
        : { required: d.approvalsRequired, received: d.approvalsReceived ?? 0 },
  };
}

export function toDeploymentEventResponse(e: DeploymentEvent): DeploymentEventDto {
  return { status: e.status, message: e.message, at: e.at };
}

/** `POST /deployments/async`: the rollout operation, and where to poll it. */
export function toAcceptedDeploymentResponse(
  deployment: Deployment,
  operation: Operation,
  statusUrl: string,
): AcceptedDeploymentResponseDto {
  return {
    ...toOperationResponse(operation),
    operation_id: operation.id,
    status_url: statusUrl,
    deployment_id: deployment.id,
  };
}

/** `POST /deployments/:id/rollback`: the deployment `rolledBackId` and the one that rolls it back. */
export function toRollbackResponse(
  rolledBackId: string,
  rollback: Deployment,
  operation: Operation,
  requestedBy: Principal,
  reason: string | null,
  statusUrl: string,
): RollbackResponseDto {
  return {
    deployment_id: rolledBackId,
    rollback_id: rollback.id,
    status: 'initiated',
    requested_by: requestedBy.name,
    reason,
    initiated_at: rollback.createdAt,
    operation_id: operation.id,
    status_url: statusUrl,
  };
}

/** A gate's verdict as the API shows it: its type, status and reason, then its type's fields. */
export function toGateVerdictResponse(v: GateVerdict): GateVerdictDto {
  return { type: v.type, status: v.status, reason: v.reason, ...v.details };
}

/** `POST /deployments/preflight`: every verdict, and whether the rollout would pass them. */
export function toPreflightResponse(
  verdicts: GateVerdict[],
  overridden: boolean,
): PreflightResponseDto {
  return {
    allowed: blockingVerdicts(verdicts, overridden).length === 0,
    needs_approval: verdicts.some((v) => v.status === 'pending'),
    gates: verdicts.map(toGateVerdictResponse),
  };
}
