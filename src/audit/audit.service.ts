import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Between, FindOptionsWhere, LessThanOrEqual, MoreThanOrEqual, Repository } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { pageOf, pageWindow } from '../common/pagination';
import { nowIso } from '../database/columns';
import { Database } from '../database/database';
import { AuditEvent } from './audit-event.entity';
import { AuditEventListResponseDto, ListAuditEventsQueryDto } from './dto/audit-event.dto';

export type AuditEntry = Omit<AuditEvent, 'id' | 'at' | 'outcome'>;

@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Audit');
  /** Writes not finished yet; shutdown waits for them so the last requests are recorded too. */
  private readonly writing = new Set<Promise<unknown>>();

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly db: Database,
  ) {}

  /** Writes an entry in the background; a failure is logged, never turned into the caller's error. */
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
    const write: Promise<unknown> = this.db
      .transaction((manager) => manager.insert(AuditEvent, event))
      .catch((error: unknown) =>
        this.logger.error(`could not record audit event ${event.action}: ${String(error)}`),
      )
      .finally(() => this.writing.delete(write));
    this.writing.add(write);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.writing);
  }

  async list(query: ListAuditEventsQueryDto): Promise<AuditEventListResponseDto> {
    const where: FindOptionsWhere<AuditEvent> = {
      ...(query.actor_key_id ? { actorKeyId: query.actor_key_id } : {}),
      ...(query.action ? { action: query.action } : {}),
      ...(query.target_id ? { targetId: query.target_id } : {}),
      ...(query.outcome ? { outcome: query.outcome } : {}),
      ...(query.since && query.until
        ? { at: Between(query.since, query.until) }
        : query.since
          ? { at: MoreThanOrEqual(query.since) }
          : query.until
            ? { at: LessThanOrEqual(query.until) }
            : {}),
    };
    const { limit, offset } = pageWindow(query);
    const [rows, total] = await this.events.findAndCount({
      where,
      order: { at: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return {
      audit_events: rows.map((e) => ({
        id: e.id,
        at: e.at,
        request_id: e.requestId,
        actor: e.actorKeyId ? { key_id: e.actorKeyId, name: e.actorName } : null,
        action: e.action,
        target: e.targetType || e.targetId ? { type: e.targetType, id: e.targetId } : null,
        outcome: e.outcome,
        status: e.status,
        error_code: e.errorCode,
        source_ip: e.sourceIp,
      })),
      ...pageOf(total, query),
    };
  }
}
