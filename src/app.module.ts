import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DeploymentsModule } from './deployments/deployments.module';
import { FreezesModule } from './freezes/freezes.module';
import { GatesModule } from './gates/gates.module';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { LocksModule } from './locks/locks.module';
import { ObservabilityModule } from './observability/observability.module';
import { OperationsModule } from './operations/operations.module';

@Module({})
export class AppModule {
  /** The whole service; tests pass their own settings, production reads the environment. */
  static forRoot(config: AppConfig = AppConfig.fromEnvironment()): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        DatabaseModule,
        AuthModule,
        // Audit before idempotency: a replayed answer is recorded too.
        AuditModule,
        IdempotencyModule,
        OperationsModule.forRoot(config),
        GatesModule,
        LocksModule,
        FreezesModule,
        DeploymentsModule.forRoot(config),
        HealthModule.forRoot(config),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
