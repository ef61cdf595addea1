import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { requestIdOf } from '../request-context';
import { ApiError } from './api-error';
import { ErrorCode, HTTP_STATUS_BY_CODE } from './error-code.enum';

const CODE_BY_HTTP_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.ValidationError,
  401: ErrorCode.AuthenticationError,
  403: ErrorCode.AuthorizationError,
  404: ErrorCode.ResourceNotFound,
  405: ErrorCode.ResourceNotFound,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.ValidationError,
  429: ErrorCode.RateLimited,
};

/** Errors raised below Nest (body-parser) carry an HTTP status and a type but are not HttpExceptions. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
}

/**
 * Turns whatever was thrown into an {@link ApiError}: our own errors pass through, Nest's and
 * body-parser's HTTP errors keep their status with a readable message, anything else is an
 * internal error whose details stay in the log.
 */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 503) return new ApiError(ErrorCode.ServiceUnavailable, exception.message);
    if (status >= 500) return internal();
    // A client error without a code of its own is still the client's: a 400, never a 500.
    return new ApiError(
      CODE_BY_HTTP_STATUS[status] ?? ErrorCode.ValidationError,
      exception.message,
    );
  }
  const e = exception as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (e.type === 'entity.too.large') {
      return new ApiError(ErrorCode.PayloadTooLarge, 'Request body is larger than the 1 MiB limit');
    }
    if (e.type === 'entity.parse.failed') {
      return ApiError.validation('Malformed JSON in request body');
    }
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      return ApiError.validation('Unsupported request body encoding');
    }
    return new ApiError(CODE_BY_HTTP_STATUS[status] ?? ErrorCode.ValidationError, 'Bad request');
  }
  return internal();
}

function internal(): ApiError {
  return new ApiError(ErrorCode.InternalError, 'An unexpected error occurred');
}

const logger = new Logger('Errors');

/** The one place an error becomes an HTTP response: the contract's body, never a stack trace. */
export function sendError(request: Request, response: Response, exception: unknown): void {
  const error = toApiError(exception);
  const status = HTTP_STATUS_BY_CODE[error.code];
  const requestId = requestIdOf(request);
  if (status >= 500) {
    const detail = exception instanceof Error ? exception.stack : String(exception);
    logger.error(`request ${requestId} failed: ${detail}`);
  }
  noteErrorCode(response, error.code);
  if (response.headersSent) {
    response.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) response.setHeader(name, value);
  response.status(status).json({
    error: error.code,
    message: error.message,
    ...(error.details ? { details: error.details } : {}),
    timestamp: new Date().toISOString(),
    request_id: requestId,
  });
}

/** The error code a response was answered with, if it was an error. */
export function errorCodeOf(response: Response): string | undefined {
  return (response.locals as { errorCode?: string }).errorCode;
}

/** Says which error code a response answers with (an error replayed from its body names its own). */
export function noteErrorCode(response: Response, code: string): void {
  (response.locals as { errorCode?: string }).errorCode = code;
}

/** Catches everything thrown inside Nest's pipeline and answers with {@link sendError}. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(ctx.getRequest<Request>(), ctx.getResponse<Response>(), exception);
  }
}
