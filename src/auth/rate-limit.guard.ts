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
  ) {
    super(options, storage, reflector);
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
