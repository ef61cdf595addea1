import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DatabaseModule } from '../database/database.module';
import { DriversModule } from '../drivers/drivers.module';
import { FreezesModule } from '../freezes/freezes.module';
import { GatesModule } from '../gates/gates.module';
import { LocksModule } from '../locks/locks.module';
import { ObservabilityModule } from '../observability/observability.module';
import { OperationsModule } from '../operations/operations.module';
import { DeploymentEvent } from './deployment-event.entity';
import { DeploymentEventsRepository } from './deployment-events.repository';
import { DeploymentOperationsHandler } from './deployment-operations.handler';
import { DeploymentRollbackService } from './deployment-rollback.service';
import { Deployment } from './deployment.entity';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import { ServiceEnvironment } from './service-environment.entity';
import { StateController } from './state.controller';
import { StateService } from './state.service';
import { PromotionGate } from './promotion.gate';
import { ApprovalGate } from './approval.gate';
import { ApprovalsController } from './approvals.controller';
import { DeploymentApprovalsService } from './deployment-approvals.service';
import { DeploymentReview } from './deployment-review.entity';
import { DeploymentReviewsRepository } from './deployment-reviews.repository';

@Module({})
export class DeploymentsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DeploymentsModule,
      imports: [
        DatabaseModule,
        DatabaseModule.forFeature([
          Deployment,
          DeploymentEvent,
          ServiceEnvironment,
          DeploymentReview,
        ]),
        ObservabilityModule,
        DriversModule,
        GatesModule,
        LocksModule,
        FreezesModule,
        OperationsModule.forRoot(config),
      ],
      controllers: [DeploymentsController, StateController, ApprovalsController],
      providers: [
        DeploymentsRepository,
        DeploymentEventsRepository,
        DeploymentsService,
        DeploymentRollbackService,
        DeploymentOperationsHandler,
        StateService,
        PromotionGate,
        ApprovalGate,
        DeploymentReviewsRepository,
        DeploymentApprovalsService,
      ],
    };
  }
}
