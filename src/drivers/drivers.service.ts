import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Driver } from './driver';
import { DriverTable, loadDrivers } from './drivers.config';

/** Picks the driver that carries out deployments to an environment, per the drivers file. */
@Injectable()
export class DriversService {
  private readonly drivers: DriverTable;

  constructor(config: AppConfig) {
    this.drivers = loadDrivers(config);
  }

  driverFor(environment: string): Driver {
    return this.drivers.byEnvironment.get(environment) ?? this.drivers.fallback;
  }
}
