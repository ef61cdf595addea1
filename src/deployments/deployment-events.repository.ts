import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { DeploymentEvent } from './deployment-event.entity';
import { DeploymentStatus } from './deployment.entity';

/** The `deployment_events` table: every status a deployment went through. */
@Injectable()
export class DeploymentEventsRepository {
  private readonly table: EntityTable<DeploymentEvent>;

  constructor(db: Database) {
    this.table = db.table(DeploymentEvent);
  }

  @GenerateSql({
    params: [
      {
        deploymentId: Example.id,
        status: DeploymentStatus.Pending,
        message: 'Requested by ci',
        at: Example.time,
      },
    ],
  })
  insert(event: Omit<DeploymentEvent, 'id'>): Promise<void> {
    return this.table.insert(event);
  }

  /** A deployment's events, oldest first. */
  @GenerateSql({ params: [Example.id] })
  historyOf(deploymentId: string): Promise<DeploymentEvent[]> {
    return this.table.find({ where: { deploymentId }, order: [['id', 'ASC']] });
  }
}
