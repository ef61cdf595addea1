import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { requestIdOf } from '../common/request-context';

/**
 * What the code handling a request tells the audit log that the middleware cannot see from the
 * path: the environment of the deployment, operation or lock the request is about, and details
 * worth keeping (an override's reason). Set the environment as soon as it is known (the create
 * body validated, the deployment or operation read), before anything can refuse the request, so a
 * 403 or 409 is filed under its environment too. Left null, the event is visible only to keys
 * with every environment (`*`). `requestId` names the request in events recorded on its behalf
 * (a lock it found expired).
 */
export class AuditNote {
  environment: string | null = null;
  details: Record<string, unknown> | null = null;

  constructor(readonly requestId: string) {}
}

export type NotedRequest = Request & { auditNote?: AuditNote };

/** Gives a request that will be audited its note; the audit middleware reads it once answered. */
export function attachAuditNote(req: NotedRequest): AuditNote {
  req.auditNote = new AuditNote(requestIdOf(req));
  return req.auditNote;
}

/**
 * The request's note, as a controller parameter: `@ForAudit() audit: AuditNote`. A request that
 * is not audited (a GET) gets a note nobody reads.
 */
export const ForAudit = createParamDecorator((_: unknown, ctx: ExecutionContext): AuditNote => {
  const req = ctx.switchToHttp().getRequest<NotedRequest>();
  return req.auditNote ?? new AuditNote(requestIdOf(req));
});
