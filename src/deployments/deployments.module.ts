import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DriversModule } from '../drivers/drivers.module';
import { DeploymentEvent } from './deployment-event.entity';
import { DeploymentOperationsHandler } from './deployment-operations.handler';
import { DeploymentRollbackService } from './deployment-rollback.service';
import { Deployment } from './deployment.entity';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';

@Module({
  imports: [TypeOrmModule.forFeature([Deployment, DeploymentEvent]), DriversModule],
  controllers: [DeploymentsController],
  providers: [DeploymentsService, DeploymentRollbackService, DeploymentOperationsHandler],
})
export class DeploymentsModule {}
