import { Injectable, OnModuleInit } from '@nestjs/common';
import { millisecondsBetween } from '../database/columns';
import { DriversService } from '../drivers/drivers.service';
import { Metrics } from '../observability/metrics';
import { OperationContext, OperationHandler, StatusChange } from '../operations/operation-handler';
import { Operation, OperationResult, OperationStatus } from '../operations/operation.entity';
import { OperationsService } from '../operations/operations.service';
import { DeploymentStatus } from './deployment.entity';
import { DeploymentsService, ROLLBACK_OPERATION, ROLLOUT_OPERATION } from './deployments.service';

const DEPLOYMENT_STATUS: Record<OperationStatus, DeploymentStatus> = {
  [OperationStatus.Pending]: DeploymentStatus.Pending,
  [OperationStatus.Running]: DeploymentStatus.InProgress,
  [OperationStatus.Succeeded]: DeploymentStatus.Successful,
  [OperationStatus.Failed]: DeploymentStatus.Failed,
  [OperationStatus.Cancelled]: DeploymentStatus.Cancelled,
};

/**
 * Carries out rollouts and rollbacks for the operations engine: hands the job to the
 * environment's driver, and keeps each deployment's status and history in step with its operation.
 */
@Injectable()
export class DeploymentOperationsHandler implements OperationHandler, OnModuleInit {
  constructor(
    private readonly deploymentsService: DeploymentsService,
    private readonly operations: OperationsService,
    private readonly drivers: DriversService,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.operations.registerHandler(ROLLOUT_OPERATION, this);
    this.operations.registerHandler(ROLLBACK_OPERATION, this);
  }

  async execute(operation: Operation, context: OperationContext): Promise<OperationResult> {
    const deployment = await this.deploymentsService.findById(operation.targetId);
    if (!deployment) throw new Error(`deployment ${operation.targetId} does not exist`);
    const isRollback = deployment.rollbackOf !== null;
    const previous = isRollback
      ? await this.deploymentsService.findById(deployment.rollbackOf!)
      : await this.deploymentsService.lastSuccessfulBefore(deployment);
    await this.drivers.driverFor(deployment.environment).deploy(
      {
        deploymentId: deployment.id,
        operationId: operation.id,
        service: deployment.service,
        version: deployment.version,
        environment: deployment.environment,
        kind: isRollback ? 'rollback' : 'rollout',
        previousVersion: previous?.version ?? null,
      },
      context,
    );
    return {
      deployment_id: deployment.id,
      service: deployment.service,
      version: deployment.version,
      environment: deployment.environment,
      ...(isRollback ? { rolled_back_deployment_id: deployment.rollbackOf } : {}),
    };
  }

  async onStatusChange(operation: Operation, change: StatusChange): Promise<void> {
    const status = DEPLOYMENT_STATUS[change.status];
    if (status === DeploymentStatus.Pending) return;
    if (
      status === DeploymentStatus.Cancelled &&
      !(await this.cancelledWhileRunning(operation, change))
    )
      return;
    const finished = status !== DeploymentStatus.InProgress;
    await this.deploymentsService.recordStatus(operation.targetId, {
      status,
      message: eventMessage(operation, change),
      at: change.at,
      ...(finished ? { finishedAt: change.at } : { startedAt: change.at }),
    });
    if (status === DeploymentStatus.Successful && operation.type === ROLLBACK_OPERATION) {
      await this.markRolledBack(operation.targetId, change.at);
    }
    if (finished) {
      const kind = operation.type === ROLLBACK_OPERATION ? 'rollback' : 'rollout';
      this.metrics.rollouts.inc({ environment: operation.scope, kind, outcome: status });
    }
  }

  /**
   * Whether an operation's cancel ends its deployment `cancelled`: not when a rejection cancelled
   * it (the deployment is `rejected` already). A cancel while it awaited approval ends that wait.
   */
  private async cancelledWhileRunning(
    operation: Operation,
    change: StatusChange,
  ): Promise<boolean> {
    const deployment = await this.deploymentsService.findById(operation.targetId);
    if (deployment?.status === DeploymentStatus.Rejected) return false;
    if (deployment?.status === DeploymentStatus.AwaitingApproval)
      this.metrics.approvalWait.observe(
        { outcome: 'cancelled' },
        millisecondsBetween(deployment.createdAt, change.at) / 1000,
      );
    return true;
  }

  /** When a rollback succeeds, the deployment it rolled back ends `rolled_back`. */
  private async markRolledBack(rollbackId: string, at: string): Promise<void> {
    const rollback = await this.deploymentsService.findById(rollbackId);
    if (!rollback?.rollbackOf) return;
    await this.deploymentsService.recordStatus(rollback.rollbackOf, {
      status: DeploymentStatus.RolledBack,
      message: `Rolled back to version ${rollback.version} by deployment ${rollback.id}`,
      at,
    });
  }
}

function eventMessage(operation: Operation, change: StatusChange): string {
  const what = operation.type === ROLLBACK_OPERATION ? 'Rollback' : 'Rollout';
  switch (change.status) {
    case OperationStatus.Running:
      return `${what} started`;
    case OperationStatus.Succeeded:
      return `${what} succeeded`;
    case OperationStatus.Failed:
      return `${what} failed: ${change.message}`;
    case OperationStatus.Cancelled:
      return `${what} cancelled: ${change.message}`;
    case OperationStatus.Pending:
      return change.message;
  }
}
