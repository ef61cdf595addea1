import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

type WithRequestId = Request & { requestId?: string };

/** Who sent a request, as every layer may know it; auth's `Principal` says more. */
export interface Caller {
  keyId: string;
  name: string;
}

/** A request once authenticated: the API-key guard (or an idempotent replay) sets `principal`. */
export type CallerRequest = Request & { principal?: Caller };

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is a sane token, else a new
 * UUID) and echoes it on the response, so a log line and a client's error can be matched.
 */
export function requestIdMiddleware(req: WithRequestId, res: Response, next: NextFunction): void {
  const sent = req.header(REQUEST_ID_HEADER);
  req.requestId = sent && ACCEPTABLE_REQUEST_ID.test(sent) ? sent : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, req.requestId);
  next();
}

export function requestIdOf(req: WithRequestId): string {
  return req.requestId ?? 'unknown';
}
