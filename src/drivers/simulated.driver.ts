import { OperationFailure } from '../operations/operation-handler';
import { abortableDelay, DeploymentJob, Driver, DriverRun } from './driver';

export interface SimulatedDriverOptions {
  /** How long a rollout takes. */
  durationMs: number;
  /** Versions matching this pattern fail halfway, to rehearse failures and rollbacks. */
  failVersions?: RegExp;
}

const STEPS = 10;

/**
 * Pretends to deploy: ten steps over the configured duration, reporting progress as it goes.
 * For trying Flightdeck and for pipelines' own tests; it touches nothing.
 */
export class SimulatedDriver implements Driver {
  constructor(private readonly options: SimulatedDriverOptions) {}

  async deploy(job: DeploymentJob, run: DriverRun): Promise<void> {
    const step = this.options.durationMs / STEPS;
    for (let i = 1; i <= STEPS; i++) {
      await abortableDelay(step, run.signal);
      if (i === STEPS / 2 && this.options.failVersions?.test(job.version)) {
        throw new OperationFailure(
          'driver_failed',
          `Simulated failure: version ${job.version} matches fail_versions /${this.options.failVersions.source}/`,
        );
      }
      await run.progress(
        (i * 100) / STEPS,
        `${job.kind === 'rollback' ? 'Rolling back' : 'Rolling out'} ${job.service} ${job.version} to ${job.environment} (step ${i} of ${STEPS})`,
      );
    }
  }
}
