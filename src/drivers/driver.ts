import type { OperationContext } from '../operations/operation-handler';

/** What a driver is asked to do: plain data, never an entity. */
export interface DeploymentJob {
  deploymentId: string;
  operationId: string;
  service: string;
  version: string;
  environment: string;
  /** `rollback` when this deployment returns to an earlier version. */
  kind: 'rollout' | 'rollback';
  /** The version that was live before this job, if any. */
  previousVersion: string | null;
}

/** What a driver may do while it works: report progress, a message and output lines. */
export type DriverRun = OperationContext;

/**
 * Carries out a deployment. Resolves when it succeeded; throws an `OperationFailure` with a
 * code and a message a person can act on when it did not.
 */
export interface Driver {
  deploy(job: DeploymentJob, run: DriverRun): Promise<void>;
}
