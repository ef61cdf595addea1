import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { GateDecisionsRepository } from './gate-decisions.repository';
import { GatesService } from './gates.service';

/** The gate engine; the modules that own a gate import it and register their gate. */
@Module({
  imports: [DatabaseModule],
  providers: [GatesService, GateDecisionsRepository],
  exports: [GatesService, GateDecisionsRepository],
})
export class GatesModule {}
