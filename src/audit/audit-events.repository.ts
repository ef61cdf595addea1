import { Injectable } from '@nestjs/common';
import { PageWindow } from '../common/pagination';
import { Database } from '../database/database';
import { EntityTable, range } from '../database/entity-table';
import { Example, GenerateSql } from '../database/generate-sql';
import { AuditEvent } from './audit-event.entity';

/** Which audit events a list shows; an environment list means any of them (empty: none). */
export interface AuditEventFilter {
  actorKeyId?: string;
  action?: string;
  targetId?: string;
  outcome?: string;
  environment?: readonly string[];
  /** Events at or after this time. */
  since?: string;
  /** Events at or before this time. */
  until?: string;
}

const NEWEST_FIRST: Array<['at' | 'id', 'DESC']> = [
  ['at', 'DESC'],
  ['id', 'DESC'],
];

/** The `audit_events` table. */
@Injectable()
export class AuditEventsRepository {
  private readonly table: EntityTable<AuditEvent>;

  constructor(db: Database) {
    this.table = db.table(AuditEvent);
  }

  @GenerateSql({
    params: [
      [
        {
          id: Example.id,
          at: Example.time,
          requestId: 'req-1',
          actorKeyId: Example.otherId,
          actorName: 'ci',
          action: 'POST /api/v1/deployments',
          targetType: 'deployment',
          targetId: Example.otherId,
          environment: 'production',
          outcome: 'succeeded',
          status: 201,
          errorCode: null,
          sourceIp: '127.0.0.1',
          details: { override_reason: 'Hotfix for INC-2041' },
        },
      ],
    ],
  })
  async insertAll(events: AuditEvent[]): Promise<void> {
    for (const event of events) await this.table.insert(event);
  }

  /** A page of the log, newest first, and (paging by number) how many match in all. */
  @GenerateSql(
    { name: 'first page', params: [{}, { limit: 51, offset: 0 }] },
    {
      name: 'one actor over a time range, a key limited to one environment',
      params: [
        {
          actorKeyId: Example.otherId,
          environment: ['staging'],
          since: Example.time,
          until: Example.laterTime,
        },
        { limit: 51, offset: 0 },
      ],
    },
    {
      name: 'failures of one action, after a cursor',
      params: [
        { action: 'POST /api/v1/deployments', outcome: 'failed' },
        { limit: 51, after: [Example.time, Example.id] },
      ],
    },
  )
  pageNewestFirst(
    filter: AuditEventFilter,
    window: PageWindow,
  ): Promise<{ rows: AuditEvent[]; total?: number }> {
    const { since, until, ...equal } = filter;
    return this.table.findPage({
      where: { ...equal, at: range({ atLeast: since, atMost: until }) },
      order: NEWEST_FIRST,
      ...window,
    });
  }
}
