import { setTimeout as delay } from 'node:timers/promises';
import { Equals, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { OperationFailure } from '../../operations/operation-handler';
import { IsRegExp } from '../settings-validators';
import { DeploymentJob, Driver, DriverRun } from '../driver';

export class SimulatedSettings {
  @Equals('simulated')
  driver: 'simulated';

  /** How long a rollout takes; default `FLIGHTDECK_SIMULATED_DURATION_MS`. */
  @IsOptional()
  @IsInt()
  @Min(0)
  duration_ms?: number;

  /** Versions matching this regular expression fail halfway, to rehearse failures. */
  @IsOptional()
  @IsString()
  @IsRegExp()
  fail_versions?: string;
}

const STEPS = 10;

/**
 * Pretends to deploy: ten steps over the configured duration, reporting progress as it goes.
 * For trying Flightdeck and for pipelines' own tests; it touches nothing.
 */
export class SimulatedDriver implements Driver {
  private readonly failVersions?: RegExp;

  constructor(
    private readonly settings: SimulatedSettings,
    private readonly defaultDurationMs: number,
  ) {
    this.failVersions = settings.fail_versions ? new RegExp(settings.fail_versions) : undefined;
  }

  async deploy(job: DeploymentJob, run: DriverRun): Promise<void> {
    const step = (this.settings.duration_ms ?? this.defaultDurationMs) / STEPS;
    const verb = job.kind === 'rollback' ? 'Rolling back' : 'Rolling out';
    run.log('system', `${verb} ${job.service} ${job.version} to ${job.environment} (simulated)`);
    for (let i = 1; i <= STEPS; i++) {
      await delay(step, undefined, { signal: run.signal });
      if (i === STEPS / 2 && this.failVersions?.test(job.version)) {
        throw new OperationFailure(
          'driver_failed',
          `Simulated failure: version ${job.version} matches fail_versions /${this.failVersions.source}/`,
        );
      }
      await run.progress(
        (i * 100) / STEPS,
        `${verb} ${job.service} ${job.version} to ${job.environment} (step ${i} of ${STEPS})`,
      );
    }
  }
}
