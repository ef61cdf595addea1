import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../auth/principal';
import { requestIdOf } from '../common/request-context';
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
};
/** The fixed words of the API's paths; any other segment is an id. */
const PATH_WORDS = new Set([
  'api',
  'v1',
  'deployments',
  'async',
  'events',
  'rollback',
  'operations',
  'logs',
  'cancel',
  'auth',
  'keys',
  'whoami',
  'audit-events',
]);

/**
 * The route pattern of a path (`/api/v1/deployments/:id/rollback`) and the id in it. Derived from
 * the path, so requests answered before routing (an idempotent replay) are described the same way.
 */
function routeOf(url: string): { pattern: string; id?: string } {
  let id: string | undefined;
  const segments = url
    .split('?')[0]
    .split('/')
    .map((segment) => {
      if (segment === '' || PATH_WORDS.has(segment)) return segment;
      id ??= printable(safeDecode(segment)).slice(0, 64);
      return ':id';
    });
  return { pattern: segments.join('/'), id };
}

/** Without control characters, which have no place in the log (and PostgreSQL refuses NUL). */
function printable(text: string): string {
  return [...text].filter((c) => c >= ' ').join('');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
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

/** Records every mutating request and every refused one (401/403) once its answer is sent. */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(private readonly audit: AuditService) {}

  use(req: AuditedRequest, res: Response, next: NextFunction): void {
    const mutating = MUTATING.has(req.method);
    let body: unknown;
    if (mutating) {
      attachAuditNote(req);
      // The answer names what a POST created (and a replayed error, its code).
      const send = res.json.bind(res);
      res.json = (value: unknown) => {
        body = value;
        return send(value);
      };
    }
    res.once('finish', () => {
      const status = res.statusCode;
      if (!mutating && status !== 401 && status !== 403) return;
      const { pattern, id } = routeOf(req.originalUrl);
      const answer = (body ?? {}) as { id?: unknown; deployment_id?: unknown; error?: unknown };
      // A replayed answer (idempotency) names its error only in its body.
      const replayedError = typeof answer.error === 'string' ? answer.error : null;
      // What a POST created: the deployment (also for /async, whose body is the operation), or the key.
      const created = typeof answer.deployment_id === 'string' ? answer.deployment_id : answer.id;
      const action = `${req.method} ${pattern}`;
      this.audit.record({
        requestId: requestIdOf(req),
        actorKeyId: req.principal?.keyId ?? null,
        actorName: req.principal?.name ?? null,
        action: action.slice(0, MAX_ACTION_CHARS),
        targetType: TARGET_TYPES[pattern.split('/')[3]] ?? null,
        targetId:
          id ??
          (req.method === 'POST' && status < 300 && typeof created === 'string' ? created : null),
        status,
        errorCode: status >= 400 ? (errorCodeOf(res) ?? replayedError) : null,
        sourceIp: req.ip ?? null,
        environment: req.auditNote?.environment ?? replayedCreateEnvironment(req, res, action),
      });
    });
    next();
  }
}
