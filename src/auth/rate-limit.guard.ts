import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { ApiKeysService } from './api-keys.service';
import { AppConfig } from '../config/app-config';

/**
 * `@nestjs/throttler` per API key, or per client address for requests without a valid key, with
 * the `RateLimit-*` headers and the contract's `429 rate_limited`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  /** With no limit set (`FLIGHTDECK_RATE_LIMIT_PER_MINUTE=0`), nothing to count or check. */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.config.rateLimitPerMinute === 0) return Promise.resolve(true);
    return super.canActivate(context);
  }

  protected override async getTracker(req: Request): Promise<string> {
    const principal = await this.apiKeys.authenticateRequest(req).catch(() => undefined);
    return principal ? `key:${principal.keyId}` : `ip:${req.ip}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new ApiError(
      ErrorCode.RateLimited,
      `Rate limit of ${detail.limit} requests per minute exceeded; retry after ${detail.timeToBlockExpire}s`,
      { limit: detail.limit, retry_after_seconds: detail.timeToBlockExpire },
    );
  }
}
