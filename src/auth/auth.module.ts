import { Logger, Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { DatabaseModule } from '../database/database.module';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { AuthController } from './auth.controller';
import { RoutePermissionsCheck } from './route-permissions.check';
import { RATE_LIMIT_STORAGE, RateLimitGuard, RateLimiter } from './rate-limit.guard';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { AppConfig } from '../config/app-config';
import { redisConnection } from '../common/redis';

@Module({
  imports: [DatabaseModule, DatabaseModule.forFeature([ApiKey]), DiscoveryModule],
  controllers: [AuthController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    RoutePermissionsCheck,
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [AppConfig],
      // With Redis the budget is shared by every replica.
      useFactory: (config: AppConfig) =>
        config.redisUrl
          ? rateLimitStorage(config.redisUrl, config.queuePrefix)
          : new ThrottlerStorageService(),
    },
    RateLimiter,
    // Rate limiting comes first, so failed authentication attempts are limited too.
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeysService, RateLimiter],
})
export class AuthModule {}

/**
 * The rate limiter's storage on Redis. It opens (and on shutdown closes) its own connection; while
 * Redis is down, requests are not limited, and that is logged.
 */
function rateLimitStorage(url: string, prefix: string): ThrottlerStorageRedisService {
  const storage = new ThrottlerStorageRedisService({
    ...redisConnection(url),
    keyPrefix: `${prefix}:ratelimit:`,
  });
  const logger = new Logger('RateLimit');
  storage.redis.on('error', (error: Error) =>
    logger.warn(`Redis for rate limits: ${error.message}`),
  );
  return storage;
}
