import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditLogModule } from './audit-log.module';
import { AuditController } from './audit.controller';
import { AuditMiddleware } from './audit.middleware';

/**
 * The audit log: written for every mutating or refused request, read at `GET /api/v1/audit-events`.
 * Only the root imports it (see {@link AuditLogModule}).
 */
@Module({
  imports: [AuditLogModule],
  controllers: [AuditController],
})
export class AuditModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuditMiddleware).forRoutes('*path');
  }
}
