import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { HttpObserverMiddleware } from './http-observer.middleware';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';

type ObservedRequest = IncomingMessage & { requestId?: string; principal?: { keyId: string } };

/** Structured JSON logs (one line per request) and Prometheus metrics. */
@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // The per-request line is logged at info: below that level, skip the work entirely.
          autoLogging: ['trace', 'debug', 'info'].includes(config.logLevel),
          genReqId: (req: ObservedRequest) => req.requestId ?? 'unknown',
          customProps: (req: ObservedRequest) => ({ key_id: req.principal?.keyId }),
          customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
          serializers: {
            req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
              remote_address: req.remoteAddress,
            }),
            res: (res: { statusCode: number }) => ({ status: res.statusCode }),
          },
          // Secrets never reach the log, wherever they appear.
          redact: {
            paths: [
              'req.headers.authorization',
              'req.headers.cookie',
              '*.secret',
              '*.authorization',
              'secret',
            ],
            censor: '[redacted]',
          },
        },
      }),
    }),
  ],
  controllers: [MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class ObservabilityModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpObserverMiddleware).forRoutes('*path');
  }
}
