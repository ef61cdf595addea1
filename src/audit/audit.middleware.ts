import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../auth/principal';
import { Answer, onAnswer } from '../common/answer';
import { requestIdOf } from '../common/request-context';
import { matchedRoute, pathOf } from '../common/route';
import { errorCodeOf } from '../common/errors/all-exceptions.filter';
import { attachAuditNote, NotedRequest } from './audit-note';
import { AuditService } from './audit.service';

/** The `action` column's width. */
const MAX_ACTION_CHARS = 160;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const TARGET_TYPES: Record<string, string> = {
  deployments: 'deployment',
  operations: 'operation',
  auth: 'api_key',
  locks: 'lock',
  freezes: 'freeze',
};
/** Without control characters, which have no place in the log (and PostgreSQL refuses NUL). */
function printable(text: string): string {
  return [...text].filter((c) => c >= ' ').join('');
}

/** The routes that create a deployment: their body names its environment. */
const CREATES = new Set(['POST /api/v1/deployments', 'POST /api/v1/deployments/async']);

/**
 * The environment of a replayed create. An idempotent replay is answered before the controller
 * that fills the audit note runs; its body is the first request's (same fingerprint), which passed
 * validation. A replayed rollback or cancel has no environment in its body: it stays null.
 */
function replayedCreateEnvironment(req: Request, res: Response, action: string): string | null {
  if (res.getHeader('Idempotent-Replayed') === undefined || !CREATES.has(action)) return null;
  const asked = (req.body as { environment?: unknown } | undefined)?.environment;
  return typeof asked === 'string' ? asked : null;
}

type AuditedRequest = NotedRequest & { principal?: Principal };

/**
 * What a POST created, as its answer names it: the deployment (also for /async, whose body is the
 * operation), or the key.
 */
function createdBy(answer: Answer | undefined): string | undefined {
  try {
    const body = JSON.parse(answer?.text() ?? '') as {
      id?: unknown;
      deployment_id?: unknown;
    };
    const created = typeof body.deployment_id === 'string' ? body.deployment_id : body.id;
    return typeof created === 'string' ? created : undefined;
  } catch {
    return undefined; // not JSON: it names nothing
  }
}

/** Records every mutating request and every refused one (401/403) once its answer is sent. */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(private readonly audit: AuditService) {}

  use(req: AuditedRequest, res: Response, next: NextFunction): void {
    const mutating = MUTATING.has(req.method);
    let answer: Answer | undefined;
    if (mutating) {
      attachAuditNote(req);
      // What a POST created is named in its answer, however that is sent.
      onAnswer(res, (answered) => {
        answer = answered;
      });
    }
    res.once('finish', () => {
      const status = res.statusCode;
      if (!mutating && status !== 401 && status !== 403) return;
      // The route that matched, as declared; a path no route takes, as it was asked.
      const route = matchedRoute(req);
      const pattern = route?.pattern ?? printable(pathOf(req));
      const id = route && Object.values(route.params)[0];
      const action = `${req.method} ${pattern}`;
      const created =
        id === undefined && req.method === 'POST' && status < 300 ? createdBy(answer) : undefined;
      this.audit.record({
        requestId: requestIdOf(req),
        actorKeyId: req.principal?.keyId ?? null,
        actorName: req.principal?.name ?? null,
        action: action.slice(0, MAX_ACTION_CHARS),
        targetType: TARGET_TYPES[pattern.split('/')[3]] ?? null,
        targetId: (id === undefined ? created : printable(id).slice(0, 64)) ?? null,
        status,
        errorCode: status >= 400 ? (errorCodeOf(res) ?? null) : null,
        sourceIp: req.ip ?? null,
        environment: req.auditNote?.environment ?? replayedCreateEnvironment(req, res, action),
        details: req.auditNote?.details ?? null,
      });
    });
    next();
  }
}
