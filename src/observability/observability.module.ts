import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { HttpObserverMiddleware } from './http-observer.middleware';
import { AppLogger, logFormat, prettyLines } from './logging';
import { Metrics } from './metrics';

/**
 * Logs (one line per request; JSON, or readable lines on a terminal) and Prometheus metrics
 * (scraped at `GET /metrics`, in health/).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const options = {
          level: config.logLevel,
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
        };
        const pretty = logFormat(config.logFormat, process.stdout.isTTY === true) === 'pretty';
        return {
          // The request line is written by HttpObserverMiddleware, with the metrics: pino-http's
          // own middleware (a child logger and an async context per request) would cost a third
          // of the throughput of a read (docs/decisions/002). Its logger is still the one every
          // line goes to.
          forRoutes: [],
          pinoHttp: pretty ? [options, prettyLines()] : options,
        };
      },
    }),
  ],
  providers: [Metrics, AppLogger],
  exports: [Metrics, AppLogger],
})
export class ObservabilityModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpObserverMiddleware).forRoutes('*path');
  }
}
