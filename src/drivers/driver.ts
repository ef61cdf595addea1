/** What a driver is asked to do: plain data, never an entity. */
export interface DeploymentJob {
  deploymentId: string;
  service: string;
  version: string;
  environment: string;
  /** `rollback` when this deployment returns to an earlier version. */
  kind: 'rollout' | 'rollback';
  /** The version that was live before this job, if any. */
  previousVersion: string | null;
}

/** What a driver may do while it works. */
export interface DriverRun {
  /** Aborted on cancel or shutdown: stop, clean up, and return or throw promptly. */
  readonly signal: AbortSignal;
  progress(percent: number, message?: string): Promise<void>;
}

/**
 * Carries out a deployment. Resolves when it succeeded; throws an `OperationFailure` with a
 * code and a message a person can act on when it did not.
 */
export interface Driver {
  deploy(job: DeploymentJob, run: DriverRun): Promise<void>;
}

/** Wait `ms`, or reject as soon as `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
