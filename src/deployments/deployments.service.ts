import { Injectable } from '@nestjs/common';
import type { AuditNote } from '../audit/audit-note';
import { Permission } from '../auth/permission.enum';
import {
  assertEnvironmentAllowed,
  canAccessEnvironment,
  environmentsToList,
  Principal,
} from '../auth/principal';
import { ApiError } from '../common/errors/api-error';
import { byCreation, ListPaging } from '../common/pagination';
import { nowIso } from '../database/columns';
import { Database, isUniqueViolation } from '../database/database';
import type { GateVerdict } from '../gates/gate';
import { GatesService } from '../gates/gates.service';
import { Operation } from '../operations/operation.entity';
import { OperationsService } from '../operations/operations.service';
import { DeploymentEventsRepository } from './deployment-events.repository';
import { Deployment, DeploymentStatus } from './deployment.entity';
import {
  toDeploymentEventResponse,
  toDeploymentResponse,
  toGateVerdictResponse,
  toNewDeployment,
  toPreflightResponse,
} from './deployment.mapper';
import { approvalsAskedBy } from './approval.gate';
import { DeploymentsRepository, StatusChange } from './deployments.repository';
import { CreateDeploymentDto } from './dto/create-deployment.dto';
import {
  DeploymentEventsResponseDto,
  DeploymentListResponseDto,
} from './dto/deployment-response.dto';
import { ListDeploymentsQueryDto } from './dto/list-deployments-query.dto';
import type { OverrideDto } from './dto/override.dto';
import { PreflightDto, PreflightResponseDto } from './dto/preflight.dto';

const PAGES = new ListPaging<Deployment>('deployments', byCreation);

export const ROLLOUT_OPERATION = 'deployment.rollout';
export const ROLLBACK_OPERATION = 'deployment.rollback';

/** What a new deployment will be, decided inside the transaction that writes it. */
export interface DeploymentPlan {
  service: string;
  version: string;
  environment: string;
  description: string | null;
  rollbackOf: string | null;
  operationType: typeof ROLLOUT_OPERATION | typeof ROLLBACK_OPERATION;
  message: string;
  /** The override's reason: the lock, freeze and promotion gates do not block. */
  overrideReason: string | null;
}

export interface StartedDeployment {
  deployment: Deployment;
  operation: Operation;
}

/**
 * An override's reason, once the key may override (`deployments:override`, else 403, even when
 * no gate blocks); noted for the audit log first, so a refused override is on record too.
 */
export function overrideReasonOf(
  principal: Principal,
  override: OverrideDto | undefined,
  audit: AuditNote,
): string | null {
  if (!override) return null;
  audit.details = { ...audit.details, override_reason: override.reason };
  if (!principal.permissions.includes(Permission.DeploymentsOverride)) {
    throw ApiError.forbidden(
      `This API key may not override gates: that needs the ${Permission.DeploymentsOverride} permission`,
    );
  }
  return override.reason;
}

@Injectable()
export class DeploymentsService {
  constructor(
    private readonly deployments: DeploymentsRepository,
    private readonly events: DeploymentEventsRepository,
    private readonly db: Database,
    private readonly operations: OperationsService,
    private readonly gates: GatesService,
  ) {}

  create(
    principal: Principal,
    dto: CreateDeploymentDto,
    audit: AuditNote,
  ): Promise<StartedDeployment> {
    assertEnvironmentAllowed(principal, dto.environment);
    const overrideReason = overrideReasonOf(principal, dto.override, audit);
    return this.start(
      principal,
      () =>
        Promise.resolve({
          service: dto.service,
          version: dto.version,
          environment: dto.environment,
          description: dto.description ?? null,
          rollbackOf: null,
          operationType: ROLLOUT_OPERATION,
          message: `Requested by ${principal.name}`,
          overrideReason,
        }),
      audit,
    );
  }

  /**
   * Whether a rollout would pass the gates now, and every gate's verdict; writes nothing (outside
   * a transaction, a gate only reads).
   */
  async preflight(
    principal: Principal,
    dto: PreflightDto,
    audit: AuditNote,
  ): Promise<PreflightResponseDto> {
    assertEnvironmentAllowed(principal, dto.environment);
    const overridden = overrideReasonOf(principal, dto.override, audit) !== null;
    const verdicts = await this.gates.evaluate({
      principal,
      service: dto.service,
      version: dto.version,
      environment: dto.environment,
      kind: 'rollout',
      at: nowIso(),
      requestId: audit.requestId,
    });
    return toPreflightResponse(verdicts, overridden);
  }

  /**
   * Writes a pending deployment, its first event and its operation in one transaction (`plan`
   * runs in it too, then the gates: a lock taken meanwhile either blocks this request or comes
   * after it), then dispatches the operation. The database's unique index on running rollouts
   * answers a second rollout of the same service and environment with 409. With an override, the
   * gates it passed go in the audit log with its reason. A rollout the approval gate holds is
   * written `awaiting_approval`, its operation held and not dispatched.
   */
  async start(
    principal: Principal,
    plan: () => Promise<DeploymentPlan>,
    audit: AuditNote,
  ): Promise<StartedDeployment> {
    let planned: DeploymentPlan | undefined;
    let overridden: GateVerdict[] = [];
    try {
      const started = await this.db.transaction(async () => {
        planned = await plan();
        const verdicts = await this.gates.assertOpen(
          {
            principal,
            service: planned.service,
            version: planned.version,
            environment: planned.environment,
            kind: planned.operationType === ROLLBACK_OPERATION ? 'rollback' : 'rollout',
            at: nowIso(),
            requestId: audit.requestId,
          },
          planned.overrideReason !== null,
        );
        overridden = verdicts.filter((v) => v.status === 'blocked');
        // Once decided: a lock this decision did not see is younger than the deployment.
        const now = nowIso();
        const deployment = toNewDeployment(planned, principal, now, approvalsAskedBy(verdicts));
        const held = deployment.status === DeploymentStatus.AwaitingApproval;
        const message = held
          ? `${planned.message}; waiting for ${deployment.approvalsRequired} approval(s)`
          : planned.message;
        await this.deployments.insert(deployment);
        await this.events.insert({
          deploymentId: deployment.id,
          status: deployment.status,
          message,
          at: now,
        });
        const operation = await this.operations.create(
          {
            type: planned.operationType,
            target: { type: 'deployment', id: deployment.id },
            scope: deployment.environment,
            message,
            held,
          },
          deployment.operationId,
        );
        return { deployment, operation };
      });
      if (overridden.length > 0)
        audit.details = {
          ...audit.details,
          overridden_gates: overridden.map(toGateVerdictResponse),
        };
      if (!started.operation.held) await this.operations.dispatch(started.operation.id);
      return started;
    } catch (error) {
      if (planned && isUniqueViolation(error))
        throw await this.rolloutRunning(planned.service, planned.environment);
      throw error;
    }
  }

  /** A deployment by id (in the current transaction, if any). */
  findById(id: string): Promise<Deployment | null> {
    return this.deployments.findById(id);
  }

  /**
   * Moves a deployment to `status` and records the event, in the current transaction; with `from`,
   * only if it is in that status still (answers whether it moved).
   */
  async recordStatus(
    id: string,
    change: StatusChange & { message: string; at: string },
    from?: DeploymentStatus,
  ): Promise<boolean> {
    const { message, at, ...columns } = change;
    if (!(await this.deployments.setStatus(id, columns, from))) return false;
    await this.events.insert({ deploymentId: id, status: change.status, message, at });
    return true;
  }

  async get(principal: Principal, id: string): Promise<Deployment> {
    const deployment = await this.deployments.findById(id);
    if (!deployment || !canAccessEnvironment(principal, deployment.environment)) {
      throw ApiError.notFound('Deployment', id);
    }
    return deployment;
  }

  async list(
    principal: Principal,
    query: ListDeploymentsQueryDto,
  ): Promise<DeploymentListResponseDto> {
    const window = PAGES.window(query);
    const filter = {
      service: query.service,
      status: query.status,
      environment: environmentsToList(principal, query.environment),
    };
    const { rows, total } = await this.deployments.pageNewestFirst(filter, window);
    const { rows: shown, page } = PAGES.page(rows, query, total);
    return { deployments: shown.map(toDeploymentResponse), ...page };
  }

  async history(principal: Principal, id: string): Promise<DeploymentEventsResponseDto> {
    await this.get(principal, id);
    const events = await this.events.historyOf(id);
    return { events: events.map(toDeploymentEventResponse) };
  }

  /** The last successful deployment of the same service and environment before `deployment`. */
  lastSuccessfulBefore(deployment: Deployment): Promise<Deployment | null> {
    const { service, environment, createdAt, id } = deployment;
    return this.deployments.findNewestSuccessful(service, environment, [createdAt, id]);
  }

  /**
   * The current deployment of `deployment`'s service and environment: the newest successful one,
   * "newest" in the same order `lastSuccessfulBefore` walks back in (creation), so a rollback that
   * succeeded is the current one.
   */
  currentOf(deployment: Deployment): Promise<Deployment | null> {
    return this.deployments.findNewestSuccessful(deployment.service, deployment.environment);
  }

  private async rolloutRunning(service: string, environment: string): Promise<ApiError> {
    const running = await this.deployments.findRunning(service, environment);
    return ApiError.conflict(
      `A rollout of ${service} to ${environment} is already running${running ? ` (deployment ${running.id})` : ''}; ` +
        'wait for it to finish or cancel it',
      running ? { deployment_id: running.id, operation_id: running.operationId } : undefined,
    );
  }
}
