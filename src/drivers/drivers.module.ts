import { Module } from '@nestjs/common';
import { DriversService } from './drivers.service';

/** How a rollout is actually carried out, per environment. */
@Module({ providers: [DriversService], exports: [DriversService] })
export class DriversModule {}
