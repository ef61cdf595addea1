import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow, Position } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { Deployment, DeploymentStatus } from './deployment.entity';

/** Which deployments a list shows; an environment list means any of them (empty: none). */
export interface DeploymentFilter {
  service?: string;
  status?: DeploymentStatus;
  environment?: string | readonly string[];
}

const RUNNING = [DeploymentStatus.Pending, DeploymentStatus.InProgress];

/** The `deployments` table. */
@Injectable()
export class DeploymentsRepository {
  private readonly table: EntityTable<Deployment>;

  constructor(db: Database) {
    this.table = db.table(Deployment);
  }

  insert(deployment: Deployment): Promise<void> {
    return this.table.insert(deployment);
  }

  findById(id: string): Promise<Deployment | null> {
    return this.table.findOne({ id });
  }

  /** Moves a deployment to a status, with the time it started or finished. */
  async setStatus(
    id: string,
    change: Pick<Deployment, 'status'> & Partial<Pick<Deployment, 'startedAt' | 'finishedAt'>>,
  ): Promise<void> {
    await this.table.update({ id }, change);
  }

  /** A page of the list, newest first, and (paging by number) how many match in all. */
  pageNewestFirst(
    filter: DeploymentFilter,
    window: PageWindow,
  ): Promise<{ rows: Deployment[]; total?: number }> {
    return this.table.findPage({ where: filter, order: NEWEST_FIRST, ...window });
  }

  /**
   * The newest successful deployment of a service in an environment, created before `before`
   * (a position in the list) when given.
   */
  async findNewestSuccessful(
    service: string,
    environment: string,
    before?: Position,
  ): Promise<Deployment | null> {
    const [newest] = await this.table.find({
      where: { service, environment, status: DeploymentStatus.Successful },
      order: NEWEST_FIRST,
      after: before,
      limit: 1,
    });
    return newest ?? null;
  }

  /** The rollout of a service to an environment that is pending or in progress, if any. */
  findRunning(service: string, environment: string): Promise<Deployment | null> {
    return this.table.findOne({ service, environment, status: RUNNING });
  }
}
