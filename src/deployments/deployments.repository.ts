import { Injectable } from '@nestjs/common';
import { NEWEST_FIRST, PageWindow, Position } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable, range, SumOf } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { Deployment, DeploymentStatus, IN_FLIGHT_STATUSES } from './deployment.entity';
import { ServiceEnvironment } from './service-environment.entity';

/** What a status change writes: the status, and the time it started or finished. */
export type StatusChange = Pick<Deployment, 'status'> &
  Partial<Pick<Deployment, 'startedAt' | 'finishedAt' | 'approvalsReceived'>>;

/** Which deployments a list shows; an environment list means any of them (empty: none). */
export interface DeploymentFilter {
  service?: string;
  status?: DeploymentStatus;
  environment?: string | readonly string[];
}

/** Which services and environments `GET /state` shows; an environment list as in {@link DeploymentFilter}. */
export type StateFilter = Omit<DeploymentFilter, 'status'>;

/** What runs in one service and environment: its row of `service_environments`, with the deployments it names. */
export interface PairState {
  service: string;
  environment: string;
  current: Pick<Deployment, 'id' | 'version' | 'finishedAt' | 'createdBy'> | null;
  previous: Pick<Deployment, 'id' | 'version' | 'finishedAt' | 'createdBy'> | null;
  inFlight: Pick<Deployment, 'id' | 'version' | 'status' | 'operationId'> | null;
}

const quoted = (statuses: readonly DeploymentStatus[]) => statuses.map((s) => `'${s}'`).join(', ');

/**
 * `columns` of the newest successful deployment of the `service_environments` row `se`, in the
 * order of {@link NEWEST_FIRST} (the order `findNewestSuccessful` reads, so a rollback that
 * succeeded is the current one).
 */
const newestSuccessfulOfSe = (columns: string) =>
  `SELECT ${columns} FROM "deployments" d WHERE d."service" = se."service" AND d."environment" = se."environment"` +
  ` AND d."status" = '${DeploymentStatus.Successful}' ORDER BY d."created_at" DESC, d."id" DESC LIMIT 1`;

/**
 * Recomputes one row of `service_environments` from the deployments, by their indexes (service,
 * environment, creation; the running-rollout index): the current one, the newest successful one
 * before it with another version (one rolled back is no longer successful), and the one in flight.
 * Each subquery refers to `se` alone, never to another subquery's row: so PostgreSQL walks the
 * index backward from the current one and stops at the first match (joined to the current row, it
 * read every older deployment of the pair and sorted them).
 */
const KEEP_STATE = `UPDATE "service_environments" AS se SET
 "current_id" = (${newestSuccessfulOfSe('d."id"')}),
 "previous_id" = (SELECT p."id" FROM "deployments" p
  WHERE p."service" = se."service" AND p."environment" = se."environment" AND p."status" = '${DeploymentStatus.Successful}'
  AND (p."created_at", p."id") < (${newestSuccessfulOfSe('d."created_at", d."id"')})
  AND p."version" <> (${newestSuccessfulOfSe('d."version"')})
  ORDER BY p."created_at" DESC, p."id" DESC LIMIT 1),
 "in_flight_id" = (SELECT d."id" FROM "deployments" d
  WHERE d."service" = se."service" AND d."environment" = se."environment" AND d."status" IN (${quoted(IN_FLIGHT_STATUSES)})
  ORDER BY d."created_at" DESC, d."id" DESC LIMIT 1)
WHERE se."service" = $1 AND se."environment" = $2`;

/** A page of `service_environments` (by its key: service, then environment) and the deployments each row names. */
const STATE_COLUMNS = `se."service", se."environment",
 c."id", c."version", c."finished_at", c."created_by",
 p."id", p."version", p."finished_at", p."created_by",
 f."id", f."version", f."status", f."operation_id"`;
const STATE_JOINS = `"service_environments" se
 LEFT JOIN "deployments" c ON c."id" = se."current_id"
 LEFT JOIN "deployments" p ON p."id" = se."previous_id"
 LEFT JOIN "deployments" f ON f."id" = se."in_flight_id"`;

/**
 * The `deployments` table, and beside it `service_environments`: one row per service and
 * environment, kept in the transaction of every {@link insert} and {@link setStatus} (so of every
 * status change): how many deployments it has, so that a list's `total` sums a few kept counts
 * instead of counting every row, and what runs there, so that `GET /state` reads a page of those
 * rows instead of searching the deployments (docs/decisions/023). Deployments are never deleted,
 * nor moved to another service or environment.
 */
@Injectable()
export class DeploymentsRepository {
  private readonly table: EntityTable<Deployment>;
  private readonly pairs: EntityTable<ServiceEnvironment>;
  /** {@link pageOfState}'s SQL, by shape of filter. */
  private readonly stateSql = new Map<string, string>();

  constructor(private readonly db: Database) {
    this.table = db.table(Deployment);
    this.pairs = db.table(ServiceEnvironment);
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
    await this.pairs.increment({ service, environment }, 'count');
    await this.keepState(service, environment);
  }

  @GenerateSql({ params: [Example.id] })
  findById(id: string): Promise<Deployment | null> {
    return this.table.findOne({ id });
  }

  /**
   * Moves a deployment to a status, with the time it started or finished, and keeps its pair's
   * state; with `from`, only if it is in that status still (answers whether it moved).
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
    const [changed] = await this.table.update(from ? { id, status: from } : { id }, change);
    if (changed) await this.keepState(changed.service, changed.environment);
    return changed !== undefined;
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

  /** Recomputes what runs in a service and environment (its row exists: {@link insert} made it). */
  @GenerateSql({ params: ['payments', 'production'] })
  private async keepState(service: string, environment: string): Promise<void> {
    const sql = this.db.dialect === 'postgres' ? KEEP_STATE : KEEP_STATE.replace(/\$\d/g, '?');
    await this.db.write(sql, [service, environment]);
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
      keptTotal(this.pairs, filter),
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
    return this.table.findOne({ service, environment, status: IN_FLIGHT_STATUSES });
  }

  /**
   * A page of what runs where: the rows of `service_environments` that `filter` matches, by
   * service then environment (their key), each with the deployments it names (joined by their
   * key), and how many rows match in all (a subquery of the same statement). Its cost follows the
   * number of services and environments, never the number of deployments.
   */
  @GenerateSql(
    { name: 'first page', params: [{}, { limit: 50, offset: 0 }] },
    {
      name: 'a key limited to two environments, one service',
      params: [
        { service: 'payments', environment: ['staging', 'production'] },
        { limit: 50, offset: 0 },
      ],
    },
    {
      name: 'page 3 of one environment; past the last page, as here, its total is counted apart',
      params: [{ environment: 'production' }, { limit: 20, offset: 40 }],
    },
  )
  async pageOfState(
    filter: StateFilter,
    window: { limit: number; offset: number },
  ): Promise<{ rows: PairState[]; total: number }> {
    const { service, environment } = filter;
    const terms: string[] = [];
    const values: unknown[] = [];
    if (service !== undefined) {
      terms.push('se."service" = ?');
      values.push(service);
    }
    if (typeof environment === 'string') {
      terms.push('se."environment" = ?');
      values.push(environment);
    } else if (environment) {
      terms.push(
        environment.length === 0
          ? '1 = 0'
          : `se."environment" IN (${environment.map(() => '?').join(', ')})`,
      );
      values.push(...environment);
    }
    // On SQLite the limit is written into the SQL, as EntityTable does (docs/decisions/008).
    const literalLimit = this.db.dialect === 'sqlite';
    const shape = `${terms.join(' AND ')}|${literalLimit ? window.limit : '?'}`;
    let sql = this.stateSql.get(shape);
    if (sql === undefined) {
      const where = terms.length > 0 ? ` WHERE ${terms.join(' AND ')}` : '';
      const total = `(SELECT COUNT(*) FROM "service_environments" se${where})`;
      const limit = literalLimit ? String(window.limit) : '?';
      sql = `SELECT ${STATE_COLUMNS}, ${total} FROM ${STATE_JOINS}${where} ORDER BY se."service", se."environment" LIMIT ${limit} OFFSET ?`;
      let n = 0;
      if (!literalLimit) sql = sql.replace(/\?/g, () => `$${++n}`);
      this.stateSql.set(shape, sql);
    }
    const rows = await this.db.read(sql, [
      ...values,
      ...values,
      ...(literalLimit ? [] : [window.limit]),
      window.offset,
    ]);
    const total =
      rows.length > 0 || window.offset === 0
        ? Number(rows[0]?.[14] ?? 0) // PostgreSQL answers a count as a string
        : await this.pairs.count({ service, environment });
    return { rows: rows.map(toPairState), total };
  }
}

/** A row of {@link pageOfState}'s SQL: {@link STATE_COLUMNS}, in order. */
function toPairState(row: unknown[]): PairState {
  const v = row as Array<string | null>;
  const [service, environment] = [v[0]!, v[1]!];
  return {
    service,
    environment,
    current:
      v[2] === null ? null : { id: v[2], version: v[3]!, finishedAt: v[4], createdBy: v[5]! },
    previous:
      v[6] === null ? null : { id: v[6], version: v[7]!, finishedAt: v[8], createdBy: v[9]! },
    inFlight:
      v[10] === null
        ? null
        : { id: v[10], version: v[11]!, status: v[12] as DeploymentStatus, operationId: v[13]! },
  };
}

/**
 * Where the total of a list filtered by `filter` is kept: the counts when it filters by service
 * and environment only (neither, one or both; an environment list too); otherwise (by status)
 * none, and its rows are counted.
 */
function keptTotal(
  counts: EntityTable<ServiceEnvironment>,
  filter: DeploymentFilter,
): SumOf<ServiceEnvironment> | undefined {
  const { service, environment, ...others } = filter;
  if (Object.values(others).some((value) => value !== undefined)) return undefined;
  return { table: counts, column: 'count', where: { service, environment } };
}
