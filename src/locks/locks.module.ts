import { Module } from '@nestjs/common';
import { AuditLogModule } from '../audit/audit-log.module';
import { DatabaseModule } from '../database/database.module';
import { GatesModule } from '../gates/gates.module';
import { Lock } from './lock.entity';
import { LockGate } from './lock.gate';
import { LocksController } from './locks.controller';
import { LocksRepository } from './locks.repository';
import { LocksService } from './locks.service';

/** Locks, and the lock gate (registered with the gate engine at start-up). */
@Module({
  imports: [DatabaseModule, DatabaseModule.forFeature([Lock]), AuditLogModule, GatesModule],
  controllers: [LocksController],
  providers: [LocksRepository, LocksService, LockGate],
  exports: [LocksService],
})
export class LocksModule {}
