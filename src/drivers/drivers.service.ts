import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DriverSettings, DriversConfig, loadDriversConfig } from './drivers.config';
import { SimulatedDriver } from './simulated.driver';

/** Picks the driver that carries out deployments to an environment, per the drivers file. */
@Injectable()
export class DriversService {
  private readonly config: DriversConfig;

  constructor(private readonly appConfig: AppConfig) {
    this.config = loadDriversConfig(appConfig.driversConfigPath);
  }

  driverFor(environment: string): Driver {
    return this.build(this.config.environments[environment] ?? this.config.default);
  }

  private build(settings: DriverSettings): Driver {
    switch (settings.driver) {
      case 'simulated':
        return new SimulatedDriver({
          durationMs: settings.duration_ms ?? this.appConfig.simulatedDurationMs,
          failVersions: settings.fail_versions ? new RegExp(settings.fail_versions) : undefined,
        });
    }
  }
}
