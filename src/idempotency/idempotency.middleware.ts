import { createHash } from 'node:crypto';
import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import type { Principal } from '../auth/principal';
import { RateLimiter } from '../auth/rate-limit.guard';
import { ApiError } from '../common/errors/api-error';
import { errorCodeOf, noteErrorCode, sendError } from '../common/errors/all-exceptions.filter';
import { ErrorCode } from '../common/errors/error-code.enum';
import { Answer, onAnswer } from '../common/answer';
import { requestIdOf } from '../common/request-context';
import type { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyService } from './idempotency.service';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const ACCEPTABLE_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Stripe's idempotency for every POST: the first response under a key is stored and replayed to
 * retries with `Idempotent-Replayed: true`. Responses that mean "nothing was done" (validation,
 * auth, server errors) are not kept, so a corrected or later retry runs for real.
 */
@Injectable()
export class IdempotencyMiddleware implements NestMiddleware {
  private readonly logger = new Logger('Idempotency');

  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly idempotency: IdempotencyService,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const key = req.header(IDEMPOTENCY_HEADER);
    if (req.method !== 'POST' || key === undefined) return next();
    let principal: Principal | undefined;
    let stored: IdempotencyRecord | null;
    try {
      // What this middleware answers itself (a replay, 409, 422) never reaches the rate-limit
      // guard: it counts here, like any other request (once: the guard will not count it again).
      await this.rateLimiter.count(req, res);
      if (!ACCEPTABLE_KEY.test(key)) {
        throw ApiError.validation(
          'Idempotency-Key must be 1-255 printable ASCII characters without spaces',
        );
      }
      // Unauthenticated requests go on to the guard, which refuses them.
      principal = await this.apiKeys.authenticateRequest(req).catch(() => undefined);
      if (!principal) return next();
      stored = await this.idempotency.begin(principal.keyId, key, fingerprint(req));
    } catch (error) {
      return sendError(req, res, error);
    }
    if (stored) return replay(req, res, stored, principal);

    // Kept however the answer is sent, and before it leaves, so a retry right after finds it.
    const apiKeyId = principal.keyId;
    onAnswer(res, (answer) =>
      this.keep(apiKeyId, key, res, answer).catch((error: unknown) =>
        this.logger.warn(`could not record idempotent response: ${String(error)}`),
      ),
    );
    next();
  }

  /** Keeps what the answer says was done; lets a retry run again what was refused (or failed). */
  private async keep(apiKeyId: string, key: string, res: Response, answer: Answer): Promise<void> {
    if (!worthKeeping(answer.status, errorCodeOf(res)))
      return this.idempotency.forget(apiKeyId, key);
    await this.idempotency.complete(apiKeyId, key, storable(res, answer));
  }
}

/** The first answer again, with `Idempotent-Replayed: true`; a replayed error names this request. */
function replay(req: Request, res: Response, stored: IdempotencyRecord, principal: Principal) {
  (req as Request & { principal?: Principal }).principal = principal; // who replayed it, for the audit log
  if (stored.responseLocation) res.setHeader('Location', stored.responseLocation);
  res.setHeader(REPLAYED_HEADER, 'true');
  let body = stored.responseBody ?? '';
  const type = stored.responseType ?? (body ? JSON_TYPE : undefined); // older records were all JSON
  if (type) res.setHeader('Content-Type', type);
  if (body && isJson(type)) {
    const error = JSON.parse(body) as { error?: unknown; request_id?: unknown };
    // A replayed error names this request, so its id matches the X-Request-Id header and the logs.
    if (typeof error.request_id === 'string') {
      error.request_id = requestIdOf(req);
      body = JSON.stringify(error);
    }
    if (typeof error.error === 'string') noteErrorCode(res, error.error);
  }
  res.status(stored.responseStatus!).end(body);
}

const JSON_TYPE = 'application/json; charset=utf-8';
const isJson = (type: string | undefined) => /^application\/(.+\+)?json\b/i.test(type ?? '');

/**
 * The request did something (or was refused for what it asked, not how): replay it. A request a
 * gate blocked is not kept: the same request is meant to go through once the lock or freeze ends.
 */
function worthKeeping(status: number, error: string | undefined): boolean {
  if (error === ErrorCode.DeploymentBlocked) return false;
  return status < 400 || status === 404 || status === 409;
}

/**
 * What to keep of an answer. An API key's secret is shown once and never stored, so a replayed
 * key creation omits it.
 */
function storable(res: Response, answer: Answer) {
  const type = header(res, 'Content-Type') ?? null;
  const text = answer.text();
  return {
    responseStatus: answer.status,
    responseBody: isJson(type ?? undefined)
      ? JSON.stringify(JSON.parse(text), (field, value: unknown) =>
          field === 'secret' ? undefined : value,
        )
      : text,
    responseLocation: header(res, 'Location') ?? null,
    responseType: type,
  };
}

function header(res: Response, name: string): string | undefined {
  const value = res.getHeader(name);
  return value === undefined ? undefined : String(value);
}

function fingerprint(req: Request): string {
  return createHash('sha256')
    .update(`${req.method} ${req.originalUrl}\n${canonicalJson(req.body)}`)
    .digest('hex');
}

/** JSON with object keys sorted, so the same body sent with keys in another order matches. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
