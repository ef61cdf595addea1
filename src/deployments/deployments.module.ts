import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { DriversModule } from '../drivers/drivers.module';
import { DeploymentCount } from './deployment-count.entity';
import { DeploymentEvent } from './deployment-event.entity';
import { DeploymentEventsRepository } from './deployment-events.repository';
import { DeploymentOperationsHandler } from './deployment-operations.handler';
import { DeploymentRollbackService } from './deployment-rollback.service';
import { Deployment } from './deployment.entity';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';

@Module({
  imports: [
    DatabaseModule.forFeature([Deployment, DeploymentCount, DeploymentEvent]),
    DriversModule,
  ],
  controllers: [DeploymentsController],
  providers: [
    DeploymentsRepository,
    DeploymentEventsRepository,
    DeploymentsService,
    DeploymentRollbackService,
    DeploymentOperationsHandler,
  ],
})
export class DeploymentsModule {}
