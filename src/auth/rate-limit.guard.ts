import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { AppConfig } from '../config/app-config';
import { routeAccess } from './api-key.guard';
import { ApiKeysService } from './api-keys.service';

/** The provider of the rate limiter's counters: in memory, or on Redis shared by every replica. */
export const RATE_LIMIT_STORAGE = 'RATE_LIMIT_STORAGE';
const WINDOW_MS = 60_000;
/** The counters' name in the storage (`@nestjs/throttler`'s default, kept so Redis keys stay). */
const COUNTER = 'default';

/**
 * `FLIGHTDECK_RATE_LIMIT_PER_MINUTE` requests a minute per API key, or per client address for
 * requests without a valid key, on `@nestjs/throttler`'s storage. Every answer it counts carries
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the limit it throws the
 * contract's `429 rate_limited`, with `Retry-After` as well.
 *
 * The one place requests are counted: {@link RateLimitGuard} for requests that reach a route, and
 * whatever answers a request earlier (an idempotent replay) calls {@link count} first. A request
 * is counted once, whoever asks first.
 */
@Injectable()
export class RateLimiter {
  private readonly counted = new WeakSet<Request>();

  constructor(
    @Inject(RATE_LIMIT_STORAGE) private readonly storage: ThrottlerStorage,
    private readonly apiKeys: ApiKeysService,
    private readonly config: AppConfig,
  ) {}

  async count(req: Request, res: Response): Promise<void> {
    const limit = this.config.rateLimitPerMinute;
    if (limit === 0 || this.counted.has(req)) return;
    this.counted.add(req);
    const principal = await this.apiKeys.authenticateRequest(req).catch(() => undefined);
    const tracker = principal ? `key:${principal.keyId}` : `ip:${req.ip}`;
    const { totalHits, timeToExpire, isBlocked, timeToBlockExpire } = await this.storage.increment(
      tracker,
      WINDOW_MS,
      limit,
      WINDOW_MS,
      COUNTER,
    );
    res.setHeader('RateLimit-Limit', limit);
    res.setHeader('RateLimit-Remaining', isBlocked ? 0 : Math.max(0, limit - totalHits));
    res.setHeader('RateLimit-Reset', isBlocked ? timeToBlockExpire : timeToExpire);
    if (!isBlocked) return;
    res.setHeader('Retry-After', timeToBlockExpire);
    throw new ApiError(
      ErrorCode.RateLimited,
      `Rate limit of ${limit} requests per minute exceeded; retry after ${timeToBlockExpire}s`,
      { limit, retry_after_seconds: timeToBlockExpire },
    );
  }
}

/** Counts every request to a route that needs a key; public routes (the probes, metrics) are not limited. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (routeAccess(this.reflector, context.getHandler(), context.getClass()) === 'public')
      return true;
    const http = context.switchToHttp();
    await this.limiter.count(http.getRequest<Request>(), http.getResponse<Response>());
    return true;
  }
}
