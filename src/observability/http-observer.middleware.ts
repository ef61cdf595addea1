import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { type CallerRequest, requestIdOf } from '../common/request-context';
import { matchedRoute } from '../common/route';
import { withoutQueryValues } from '../common/urls';
import { Metrics } from './metrics';

/**
 * Once a response is sent: times it into the latency histogram, labelled by route pattern (never
 * raw paths), and writes the request's log line. One listener does both; below `info` the line
 * is skipped before anything is built for it.
 */
@Injectable()
export class HttpObserverMiddleware implements NestMiddleware {
  constructor(
    private readonly metrics: Metrics,
    private readonly log: PinoLogger,
  ) {}

  use(req: CallerRequest, res: Response, next: NextFunction): void {
    const started = performance.now();
    // 'close' comes after 'finish' for an answer sent, or alone when the client left first.
    res.once('close', () => {
      const milliseconds = performance.now() - started;
      const status = res.statusCode;
      const completed = res.writableFinished;
      if (completed) {
        const route = matchedRoute(req)?.pattern ?? 'unmatched';
        this.metrics.httpDuration.observe(
          { method: req.method, route, status: String(status) },
          milliseconds / 1000,
        );
      }
      const level = status >= 500 ? 'error' : 'info';
      if (!this.log.logger.isLevelEnabled(level)) return;
      this.log.logger[level](
        {
          req: {
            id: requestIdOf(req),
            method: req.method,
            url: withoutQueryValues(req.originalUrl), // a query value may be a secret
            remote_address: req.socket.remoteAddress,
          },
          res: { status },
          key_id: req.principal?.keyId,
          responseTime: Math.round(milliseconds),
        },
        completed ? 'request completed' : 'request aborted',
      );
    });
    next();
  }
}
