import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow, Position } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
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

  @GenerateSql({
    params: [
      {
        id: Example.id,
        service: 'payments',
        version: '1.4.2',
        environment: 'production',
        status: DeploymentStatus.Pending,
        description: null,
        createdBy: 'ci',
        createdByKeyId: Example.otherId,
        createdAt: Example.time,
        startedAt: null,
        finishedAt: null,
        operationId: Example.otherId,
        rollbackOf: null,
      },
    ],
  })
  insert(deployment: Deployment): Promise<void> {
    return this.table.insert(deployment);
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Deployment | null> {
    return this.table.findOne({ id });
  }

  /** Moves a deployment to a status, with the time it started or finished. */
  @GenerateSql(
    {
      name: 'started',
      params: [Example.id, { status: DeploymentStatus.InProgress, startedAt: Example.time }],
    },
    {
      name: 'finished',
      params: [Example.id, { status: DeploymentStatus.Successful, finishedAt: Example.time }],
    },
  )
  async setStatus(
    id: string,
    change: Pick<Deployment, 'status'> & Partial<Pick<Deployment, 'startedAt' | 'finishedAt'>>,
  ): Promise<void> {
    await this.table.update({ id }, change);
  }

  /** A page of the list, newest first, and (paging by number) how many match in all. */
  @GenerateSql(
    { name: 'first page', params: [{}, { limit: 51, offset: 0 }] },
    {
      name: 'filtered by service and environment',
      params: [
        { service: 'payments', environment: 'production' },
        { limit: 51, offset: 0 },
      ],
    },
    {
      name: 'a key limited to two environments, by status',
      params: [
        { status: DeploymentStatus.Failed, environment: ['staging', 'production'] },
        { limit: 51, offset: 0 },
      ],
    },
    {
      name: 'page 3; past the last page, as here, its total is counted apart',
      params: [{}, { limit: 51, offset: 100 }],
    },
    { name: 'after a cursor', params: [{}, { limit: 51, after: [Example.time, Example.id] }] },
  )
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
  @GenerateSql(
    { name: 'the current one', params: ['payments', 'production'] },
    {
      name: 'the one before a deployment',
      params: ['payments', 'production', [Example.time, Example.id]],
    },
  )
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
  @GenerateSql({ params: ['payments', 'production'] })
  findRunning(service: string, environment: string): Promise<Deployment | null> {
    return this.table.findOne({ service, environment, status: RUNNING });
  }
}
