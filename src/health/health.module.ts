import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { DatabaseModule } from '../database/database.module';
import { ObservabilityModule } from '../observability/observability.module';
import { OperationsModule } from '../operations/operations.module';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/** Liveness and readiness probes (`@nestjs/terminus`) and the Prometheus scrape endpoint. */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HealthModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        DatabaseModule,
        ObservabilityModule,
        OperationsModule.forRoot(config),
      ],
      controllers: [HealthController, MetricsController],
    };
  }
}
