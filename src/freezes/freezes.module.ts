import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { GatesModule } from '../gates/gates.module';
import { Freeze } from './freeze.entity';
import { FreezeGate } from './freeze.gate';
import { FreezesController } from './freezes.controller';
import { FreezesRepository } from './freezes.repository';
import { FreezesService } from './freezes.service';

/** Freeze windows: their routes, and the freeze gate, registered with the gate engine at start-up. */
@Module({
  imports: [DatabaseModule, DatabaseModule.forFeature([Freeze]), GatesModule],
  controllers: [FreezesController],
  providers: [FreezesRepository, FreezesService, FreezeGate],
  exports: [FreezesService],
})
export class FreezesModule {}
