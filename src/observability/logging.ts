import { Injectable } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/app-config';

/**
 * How log lines are written: as configured, else readable lines for a person at a terminal and
 * one JSON object per line for everything else (a pipe, a file, a log collector).
 */
export function logFormat(
  setting: AppConfig['logFormat'],
  stdoutIsTty: boolean,
): 'json' | 'pretty' {
  if (setting !== 'auto') return setting;
  return stdoutIsTty ? 'pretty' : 'json';
}

/**
 * Readable lines on stdout: time, level, `[context]` and message; a request as
 * `GET /api/v1/deployments 200 4 ms`. Written synchronously, so the last lines before an exit
 * are not lost.
 */
export function prettyLines(): DestinationStream {
  return pretty({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,context,req,res,responseTime,key_id',
    messageFormat: (log, messageKey) => {
      const req = log.req as { method?: string; url?: string } | undefined;
      const res = log.res as { status?: number } | undefined;
      if (req && res) {
        const outcome = log[messageKey] === 'request aborted' ? 'aborted' : String(res.status);
        return `${req.method} ${req.url} ${outcome} ${String(log.responseTime)} ms`;
      }
      const context = typeof log.context === 'string' ? `[${log.context}] ` : '';
      return `${context}${String(log[messageKey])}`;
    },
  });
}

/** Nest's account of wiring itself up: a line per module loaded and per route mapped. */
const WIRING = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Nest's logger on pino, with Nest's wiring lines at `debug` rather than `info`. */
@Injectable()
export class AppLogger extends Logger {
  override log(message: unknown, ...params: unknown[]): void {
    if (WIRING.has(params.at(-1) as string)) this.debug(message, ...params);
    else super.log(message, ...params);
  }
}
