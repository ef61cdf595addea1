import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow, Position } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable, range, SumOf } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { DeploymentCount } from './deployment-count.entity';
import { Deployment, DeploymentStatus } from './deployment.entity';

/** What a status change writes: the status, and the time it started or finished. */
export type StatusChange = Pick<Deployment, 'status'> &
  Partial<Pick<Deployment, 'startedAt' | 'finishedAt' | 'approvalsReceived'>>;

/** Which deployments a list shows; an environment list means any of them (empty: none). */
export interface DeploymentFilter {
  service?: string;
  status?: DeploymentStatus;
  environment?: string | readonly string[];
}

const RUNNING = [
  DeploymentStatus.Pending,
  DeploymentStatus.InProgress,
  DeploymentStatus.AwaitingApproval,
];

/**
 * The `deployments` table, and beside it `deployment_counts`: how many deployments each service
 * has in each environment, kept by {@link insert} in the same transaction, so that a list's
 * `total` sums a few kept counts instead of counting every row (docs/decisions/023). Deployments
 * are never deleted, nor moved to another service or environment.
 */
@Injectable()
export class DeploymentsRepository {
  private readonly table: EntityTable<Deployment>;
  private readonly counts: EntityTable<DeploymentCount>;

  constructor(db: Database) {
    this.table = db.table(Deployment);
    this.counts = db.table(DeploymentCount);
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
        overrideReason: null,
        approvalsRequired: null,
        approvalsReceived: null,
        approvalExpiresAt: null,
      },
    ],
  })
  async insert(deployment: Deployment): Promise<void> {
    await this.table.insert(deployment);
    const { service, environment } = deployment;
    await this.counts.increment({ service, environment }, 'count');
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Deployment | null> {
    return this.table.findOne({ id });
  }

  /**
   * Moves a deployment to a status, with the time it started or finished; with `from`, only if
   * it is in that status still (answers whether it moved).
   */
  @GenerateSql(
    {
      name: 'started',
      params: [Example.id, { status: DeploymentStatus.InProgress, startedAt: Example.time }],
    },
    {
      name: 'finished',
      params: [Example.id, { status: DeploymentStatus.Successful, finishedAt: Example.time }],
    },
    {
      name: 'approved, if still awaiting approval',
      params: [
        Example.id,
        { status: DeploymentStatus.Pending, approvalsReceived: 2 },
        DeploymentStatus.AwaitingApproval,
      ],
    },
  )
  async setStatus(id: string, change: StatusChange, from?: DeploymentStatus): Promise<boolean> {
    const moved = await this.table.update(from ? { id, status: from } : { id }, change);
    return moved.length > 0;
  }

  /**
   * Counts one more approval of a deployment awaiting approval, if it has `received` still (else
   * another review came first: read it again). Answers whether it counted.
   */
  @GenerateSql({ params: [Example.id, 1] })
  async countApproval(id: string, received: number): Promise<boolean> {
    const counted = await this.table.update(
      { id, status: DeploymentStatus.AwaitingApproval, approvalsReceived: received },
      { approvalsReceived: received + 1 },
    );
    return counted.length > 0;
  }

  /** Deployments awaiting approval in `environments` (all when not given), oldest first. */
  @GenerateSql(
    { name: 'every environment', params: [undefined] },
    { name: 'a key limited to two environments', params: [['staging', 'production']] },
  )
  findAwaitingApproval(environments?: readonly string[]): Promise<Deployment[]> {
    return this.table.find({
      where: { status: DeploymentStatus.AwaitingApproval, environment: environments },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
    });
  }

  /** Deployments still awaiting approval whose wait ended before `now`. */
  @GenerateSql({ params: [Example.time, 100] })
  findApprovalExpired(now: string, limit: number): Promise<Deployment[]> {
    return this.table.find({
      where: {
        status: DeploymentStatus.AwaitingApproval,
        approvalExpiresAt: range({ below: now }),
      },
      limit,
    });
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
    {
      name: 'filtered by status: counted',
      params: [{ status: DeploymentStatus.Failed }, { limit: 51, offset: 0 }],
    },
    { name: 'after a cursor', params: [{}, { limit: 51, after: [Example.time, Example.id] }] },
  )
  pageNewestFirst(
    filter: DeploymentFilter,
    window: PageWindow,
  ): Promise<{ rows: Deployment[]; total?: number }> {
    return this.table.findPage(
      { where: filter, order: NEWEST_FIRST, ...window },
      keptTotal(this.counts, filter),
    );
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

  /** The successful deployment of a version of a service in an environment that finished first. */
  @GenerateSql({ params: ['payments', 'staging', '1.4.2'] })
  async findFirstSuccessOf(
    service: string,
    environment: string,
    version: string,
  ): Promise<Deployment | null> {
    const [first] = await this.table.find({
      where: { service, environment, version, status: DeploymentStatus.Successful },
      order: [['finishedAt', 'ASC']],
      limit: 1,
    });
    return first ?? null;
  }

  /** The rollout of a service to an environment that is pending, in progress or awaiting approval. */
  @GenerateSql({ params: ['payments', 'production'] })
  findRunning(service: string, environment: string): Promise<Deployment | null> {
    return this.table.findOne({ service, environment, status: RUNNING });
  }
}

/**
 * Where the total of a list filtered by `filter` is kept: the counts when it filters by service
 * and environment only (neither, one or both; an environment list too); otherwise (by status)
 * none, and its rows are counted.
 */
function keptTotal(
  counts: EntityTable<DeploymentCount>,
  filter: DeploymentFilter,
): SumOf<DeploymentCount> | undefined {
  const { service, environment, ...others } = filter;
  if (Object.values(others).some((value) => value !== undefined)) return undefined;
  return { table: counts, column: 'count', where: { service, environment } };
}
