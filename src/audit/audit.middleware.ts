import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../auth/principal';
import { requestIdOf } from '../common/request-context';
import { AuditService } from './audit.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const TARGET_TYPES: Record<string, string> = {
  deployments: 'deployment',
  operations: 'operation',
  auth: 'api_key',
};

type AuditedRequest = Request & { principal?: Principal };

/** Records every mutating request and every refused one (401/403) once its answer is sent. */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(private readonly audit: AuditService) {}

  use(req: AuditedRequest, res: Response, next: NextFunction): void {
    let body: unknown;
    if (MUTATING.has(req.method)) {
      const send = res.json.bind(res);
      res.json = (value: unknown) => {
        body = value;
        return send(value);
      };
    }
    res.on('finish', () => {
      const status = res.statusCode;
      if (!MUTATING.has(req.method) && status !== 401 && status !== 403) return;
      const route = (req.route as { path?: string } | undefined)?.path;
      const answer = (body ?? {}) as { id?: unknown; error?: unknown };
      const createdId =
        req.method === 'POST' && !req.params.id && typeof answer.id === 'string'
          ? answer.id
          : undefined;
      this.audit.record({
        requestId: requestIdOf(req),
        actorKeyId: req.principal?.keyId ?? null,
        actorName: req.principal?.name ?? null,
        action: `${req.method} ${route ?? '(no route)'}`,
        targetType: route ? (TARGET_TYPES[route.split('/')[3]] ?? null) : null,
        targetId: (req.params.id as string | undefined) ?? createdId ?? null,
        status,
        errorCode: status >= 400 && typeof answer.error === 'string' ? answer.error : null,
        sourceIp: req.ip ?? null,
      });
    });
    next();
  }
}
