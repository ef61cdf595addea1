import type { AuditEvent } from './audit-event.entity';
import type { AuditEventDto } from './dto/audit-event.dto';

/** An audit event as the API shows it: no actor or target when the request had none. */
export function toAuditEventResponse(e: AuditEvent): AuditEventDto {
  return {
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
    environment: e.environment,
    details: e.details,
  };
}
