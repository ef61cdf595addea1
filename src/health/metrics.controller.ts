import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Headers, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../observability/metrics';

/** Prometheus scrape endpoint; needs `Authorization: Bearer <FLIGHTDECK_METRICS_TOKEN>` when that is set. */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(
    @Res({ passthrough: true }) res: Response,
    @Headers('authorization') authorization?: string,
  ): Promise<string> {
    const token = this.config.metricsToken;
    if (token) {
      const expected = Buffer.from(`Bearer ${token}`);
      const given = Buffer.from(authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw ApiError.unauthenticated(
          'GET /metrics needs "Authorization: Bearer <FLIGHTDECK_METRICS_TOKEN>"',
        );
      }
    }
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
