import { createHash } from 'node:crypto';
import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import type { Principal } from '../auth/principal';
import { RateLimiter } from '../auth/rate-limit.guard';
import { ApiError } from '../common/errors/api-error';
import { sendError } from '../common/errors/all-exceptions.filter';
import { requestIdOf } from '../common/request-context';
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
    let stored;
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
    if (stored) {
      if (stored.responseLocation) res.setHeader('Location', stored.responseLocation);
      res.setHeader(REPLAYED_HEADER, 'true');
      (req as Request & { principal?: Principal }).principal = principal; // who replayed it, for the audit log
      const body = JSON.parse(stored.responseBody!) as Record<string, unknown>;
      // A replayed error names this request, so its id matches the X-Request-Id header and the logs.
      if (typeof body.request_id === 'string') body.request_id = requestIdOf(req);
      res.status(stored.responseStatus!).json(body);
      return;
    }

    // Store the response before it leaves, so a retry arriving right after it finds it.
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      const status = res.statusCode;
      const done = worthKeeping(status)
        ? this.idempotency.complete(
            principal.keyId,
            key,
            status,
            storable(body),
            header(res, 'Location'),
          )
        : this.idempotency.forget(principal.keyId, key);
      done
        .catch((error: unknown) =>
          this.logger.warn(`could not record idempotent response: ${String(error)}`),
        )
        .finally(() => send(body));
      return res;
    };
    next();
  }
}

/** The request did something (or was refused for what it asked, not how): replay it. */
function worthKeeping(status: number): boolean {
  return status < 400 || status === 404 || status === 409;
}

/** The body to keep: an API key's secret is shown once and never stored, so a replay omits it. */
function storable(body: unknown): string {
  return JSON.stringify(body, (field, value: unknown) => (field === 'secret' ? undefined : value));
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
