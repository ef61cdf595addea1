import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DriversFile, loadDriversFile } from './drivers.config';
import { EnvironmentPolicy, NO_POLICY } from './environment-policy';

/**
 * The drivers file (`FLIGHTDECK_CONFIG`): which driver carries out deployments to an environment,
 * and its promotion and approval policy. Read at start-up (a bad file stops it) and again on
 * `SIGHUP` (a bad file then keeps what was loaded, and the log says why). A rollout keeps the
 * driver it started with.
 */
@Injectable()
export class DriversService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('DriversService');
  private file: DriversFile;
  private readonly onHangup = () => this.reload();

  constructor(private readonly config: AppConfig) {
    this.file = loadDriversFile(config);
  }

  onModuleInit(): void {
    process.on('SIGHUP', this.onHangup);
  }

  onModuleDestroy(): void {
    process.off('SIGHUP', this.onHangup);
  }

  driverFor(environment: string): Driver {
    return this.file.byEnvironment.get(environment) ?? this.file.fallback;
  }

  policyFor(environment: string): EnvironmentPolicy {
    return this.file.policies.get(environment) ?? NO_POLICY;
  }

  /** Reads the drivers file again; answers whether the new one is in use. */
  reload(): boolean {
    try {
      this.file = loadDriversFile(this.config);
    } catch (error) {
      this.logger.error(`Kept the drivers file loaded before: ${(error as Error).message}`);
      return false;
    }
    this.logger.log(
      `Reloaded ${this.config.driversConfigPath ?? 'the default drivers'}: ` +
        `${this.file.byEnvironment.size} environment driver(s), ${this.file.policies.size} policy(ies)`,
    );
    return true;
  }
}
