import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { AuditEvent } from './audit-event.entity';
import { AuditEventsRepository } from './audit-events.repository';
import { AuditService } from './audit.service';

/**
 * The audit log itself (`AuditService`: writing and reading events), for the modules that record
 * events of their own. Apart from `AuditModule`, whose middleware must stay among the root's
 * first: Nest mounts a module's middleware by its distance from the root, so a module importing
 * `AuditModule` would push the audit middleware behind idempotency's, and replays would go
 * unrecorded.
 */
@Module({
  imports: [DatabaseModule, DatabaseModule.forFeature([AuditEvent])],
  providers: [AuditEventsRepository, AuditService],
  exports: [AuditService],
})
export class AuditLogModule {}
