import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { Principal, visibleEnvironments } from '../auth/principal';
import { ListPaging } from '../common/pagination';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { AuditEvent } from './audit-event.entity';
import { AuditEventsRepository } from './audit-events.repository';
import { toAuditEventResponse } from './audit-event.mapper';
import { AuditEventListResponseDto, ListAuditEventsQueryDto } from './dto/audit-event.dto';

const PAGES = new ListPaging<AuditEvent>('audit-events', (e) => [e.at, e.id]);

/** Audit events written in one transaction at most. */
const MAX_BATCH = 500;

export type AuditEntry = Omit<AuditEvent, 'id' | 'at' | 'outcome'>;

/** An event the service records on its own while handling a request (`lock.expired`). */
export type SystemAuditEntry = Pick<
  AuditEvent,
  'requestId' | 'action' | 'targetType' | 'targetId' | 'environment' | 'details'
>;

@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Audit');
  /** Entries waiting for the next batch. */
  private queue: AuditEvent[] = [];
  /** The batches being written; shutdown waits for it so the last requests are recorded too. */
  private writing?: Promise<void>;

  constructor(
    private readonly events: AuditEventsRepository,
    private readonly db: Database,
  ) {}

  /**
   * Writes an entry in the background; a failure is logged, never turned into the caller's error.
   * Entries that arrive while a batch is being written go in the next one (a group commit): one
   * transaction per batch rather than per request, with no added wait.
   */
  record(entry: AuditEntry): void {
    const event: AuditEvent = {
      id: uuidv7(),
      at: nowIso(),
      outcome:
        entry.status < 400
          ? 'succeeded'
          : entry.status === 401 || entry.status === 403
            ? 'denied'
            : 'failed',
      ...entry,
      sourceIp: entry.sourceIp?.slice(0, 64) ?? null,
      requestId: entry.requestId.slice(0, 128),
    };
    this.queue.push(event);
    this.writing ??= this.writeBatches();
  }

  /**
   * Writes a system event (no actor, status 0) in the current transaction, so it stands or falls
   * with the change it records.
   */
  async recordInTransaction(entry: SystemAuditEntry): Promise<void> {
    await this.events.insertAll([
      {
        ...entry,
        id: uuidv7(),
        at: nowIso(),
        actorKeyId: null,
        actorName: null,
        outcome: 'succeeded',
        status: 0,
        errorCode: null,
        sourceIp: null,
      },
    ]);
  }

  private async writeBatches(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      if ((await this.insert(batch)) === undefined) continue;
      // A batch that fails is written again one event at a time: one bad entry loses only itself.
      for (const event of batch) {
        const error = await this.insert([event]);
        if (error !== undefined)
          this.logger.error(`could not record audit event ${event.action}: ${String(error)}`);
      }
    }
    this.writing = undefined; // in the same turn as the empty check: nothing can slip in between
  }

  /** Writes the events in one transaction; answers the error if it failed. */
  private async insert(events: AuditEvent[]): Promise<Error | undefined> {
    try {
      await this.db.transaction(() => this.events.insertAll(events));
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.writing;
  }

  /**
   * A page of the log as `principal` may read it: a key limited to some environments sees only
   * the events about them, never those without one (keys, settings, unauthenticated requests).
   */
  async list(
    principal: Principal,
    query: ListAuditEventsQueryDto,
  ): Promise<AuditEventListResponseDto> {
    const environments = visibleEnvironments(principal);
    const filter = {
      actorKeyId: query.actor_key_id || undefined,
      action: query.action || undefined,
      targetId: query.target_id || undefined,
      outcome: query.outcome || undefined,
      environment: environments,
      since: query.since || undefined,
      until: query.until || undefined,
    };
    const { rows, total } = await this.events.pageNewestFirst(filter, PAGES.window(query));
    const { rows: shown, page } = PAGES.page(rows, query, total);
    return {
      audit_events: shown.map(toAuditEventResponse),
      ...page,
    };
  }
}
