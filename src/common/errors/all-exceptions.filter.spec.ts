import {
  BadGatewayException,
  BadRequestException,
  ForbiddenException,
  GatewayTimeoutException,
  GoneException,
  HttpException,
  InternalServerErrorException,
  Logger,
  LoggerService,
  MethodNotAllowedException,
  NotAcceptableException,
  NotFoundException,
  PreconditionFailedException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { errorCodeOf, toApiError, sendError } from './all-exceptions.filter';
import { ApiError } from './api-error';
import { ErrorCode } from './error-code.enum';

/** Keeps what the filter logs so a test can read it (and the test output stays quiet). */
class RecordingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

/** A minimal express Response that keeps what was written to it. */
class RecordedResponse {
  statusCode?: number;
  body?: Record<string, unknown>;
  headers: Record<string, string> = {};
  headersSent = false;
  ended = false;
  locals: Record<string, unknown> = {};

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  json(body: Record<string, unknown>): this {
    this.body = body;
    this.headersSent = true;
    return this;
  }

  setHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }

  end(): this {
    this.ended = true;
    return this;
  }
}

const requestWithId = (requestId?: string) => ({ requestId }) as unknown as Request;

function send(exception: unknown, requestId = 'req-42'): RecordedResponse {
  const response = new RecordedResponse();
  sendError(requestWithId(requestId), response as unknown as Response, exception);
  return response;
}

describe('toApiError', () => {
  it('should pass an ApiError through unchanged', () => {
    const original = ApiError.validation('name is required', [
      { field: 'name', message: 'name is required' },
    ]);

    expect(toApiError(original)).toBe(original);
  });

  it('should turn a Nest NotFoundException into resource_not_found with its message', () => {
    const error = toApiError(new NotFoundException('Cannot GET /api/v1/nowhere'));

    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe(ErrorCode.ResourceNotFound);
    expect(error.message).toBe('Cannot GET /api/v1/nowhere');
  });

  it('should turn a Nest BadRequestException into validation_error with its message', () => {
    const error = toApiError(new BadRequestException('page must be a number'));

    expect(error.code).toBe(ErrorCode.ValidationError);
    expect(error.message).toBe('page must be a number');
  });

  it.each([
    [new UnauthorizedException(), ErrorCode.AuthenticationError],
    [new ForbiddenException(), ErrorCode.AuthorizationError],
    [new MethodNotAllowedException(), ErrorCode.ResourceNotFound],
    [new HttpException('Too many', 429), ErrorCode.RateLimited],
    [new HttpException('Unsupported', 415), ErrorCode.ValidationError],
  ])('should map the Nest HTTP exception %p to its error code', (exception, code) => {
    expect(toApiError(exception).code).toBe(code);
  });

  it.each([
    [
      new NotAcceptableException('Only application/json is served'),
      'Only application/json is served',
    ],
    [new GoneException('That route was removed in v1'), 'That route was removed in v1'],
    [new PreconditionFailedException('If-Match does not match'), 'If-Match does not match'],
    [new HttpException('Took too long to send the body', 408), 'Took too long to send the body'],
  ])(
    'should answer a Nest 4xx exception it has no code for (406, 410, 412) as a 4xx, not 500: %p',
    (exception, message) => {
      const error = toApiError(exception);

      expect(error.code).toBe(ErrorCode.ValidationError);
      expect(error.message).toBe(message);
    },
  );

  it('should turn a Nest 422 exception into validation_error, not idempotency_key_reused', () => {
    const error = toApiError(new UnprocessableEntityException('replicas must be positive'));

    expect(error.code).toBe(ErrorCode.ValidationError);
    expect(error.message).toBe('replicas must be positive');
  });

  it('should turn a Nest 503 exception into service_unavailable with its message', () => {
    const error = toApiError(new ServiceUnavailableException('Database is not reachable'));

    expect(error.code).toBe(ErrorCode.ServiceUnavailable);
    expect(error.message).toBe('Database is not reachable');
  });

  it.each([
    [new BadGatewayException('upstream k8s-api-7 refused')],
    [new GatewayTimeoutException('upstream k8s-api-7 timed out')],
    [new HttpException('version 1.2 of upstream k8s-api-7', 505)],
  ])('should turn the other Nest 5xx exception %p into internal_error', (exception) => {
    const error = toApiError(exception);

    expect(error.code).toBe(ErrorCode.InternalError);
    expect(error.message).not.toContain('k8s-api-7');
  });

  it('should not repeat the message of a Nest 5xx exception', () => {
    const error = toApiError(new InternalServerErrorException('pool exhausted on db-3'));

    expect(error.code).toBe(ErrorCode.InternalError);
    expect(error.message).not.toContain('db-3');
  });

  it('should turn a body-parser entity.too.large error into payload_too_large', () => {
    const error = toApiError({ status: 413, type: 'entity.too.large' });

    expect(error.code).toBe(ErrorCode.PayloadTooLarge);
    expect(error.message).toBe('Request body is larger than the 1 MiB limit');
  });

  it('should turn a body-parser entity.parse.failed error into validation_error about malformed JSON', () => {
    const error = toApiError({ status: 400, type: 'entity.parse.failed' });

    expect(error.code).toBe(ErrorCode.ValidationError);
    expect(error.message).toBe('Malformed JSON in request body');
  });

  it('should read the status of a body-parser error from statusCode too', () => {
    const error = toApiError({ statusCode: 415, type: 'charset.unsupported' });

    expect(error.code).toBe(ErrorCode.ValidationError);
    expect(error.message).toBe('Unsupported request body encoding');
  });

  it('should turn a plain Error into internal_error without repeating its message', () => {
    const error = toApiError(new Error('secret db password leaked'));

    expect(error.code).toBe(ErrorCode.InternalError);
    expect(error.message).not.toContain('secret db password leaked');
    expect(error.message).not.toContain('password');
  });

  it.each([[null], [undefined], ['a thrown string'], [{ status: 502 }]])(
    'should turn the odd thrown value %p into internal_error',
    (thrown) => {
      expect(toApiError(thrown).code).toBe(ErrorCode.InternalError);
    },
  );
});

describe('sendError', () => {
  let log: RecordingLogger;

  beforeEach(() => {
    log = new RecordingLogger();
    Logger.overrideLogger(log);
  });

  it('should note the error code on the response for the audit log', () => {
    const response = send(ApiError.unauthenticated('Invalid API key'));

    expect(errorCodeOf(response as unknown as Response)).toBe(ErrorCode.AuthenticationError);
  });

  it('should write the status and the contract body of an ApiError', () => {
    const before = new Date().toISOString();

    const response = send(
      ApiError.validation('Missing required field: service', [
        { field: 'service', message: 'service is required' },
      ]),
    );

    expect(response.statusCode).toBe(400);
    expect(response.body).toEqual({
      error: 'validation_error',
      message: 'Missing required field: service',
      details: { errors: [{ field: 'service', message: 'service is required' }] },
      timestamp: expect.any(String),
      request_id: 'req-42',
    });
    const timestamp = response.body!.timestamp as string;
    expect(new Date(timestamp).toISOString()).toBe(timestamp);
    expect(timestamp >= before).toBe(true);
  });

  it('should leave details out of the body when the error has none', () => {
    const response = send(ApiError.notFound('Deployment', 'd-1'));

    expect(response.statusCode).toBe(404);
    expect(Object.keys(response.body!).sort()).toEqual([
      'error',
      'message',
      'request_id',
      'timestamp',
    ]);
    expect(response.body).toMatchObject({
      error: 'resource_not_found',
      message: 'Deployment d-1 not found',
    });
  });

  it('should answer a body-parser size error with 413', () => {
    const response = send({ status: 413, type: 'entity.too.large' });

    expect(response.statusCode).toBe(413);
    expect(response.body?.error).toBe('payload_too_large');
  });

  it('should answer a Nest 4xx exception it has no code for with 400, not logged as a crash', () => {
    const response = send(new NotAcceptableException('Only application/json is served'));

    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({
      error: 'validation_error',
      message: 'Only application/json is served',
    });
    expect(log.errors).toEqual([]);
  });

  it('should answer a Nest 503 exception with 503 service_unavailable', () => {
    const response = send(new ServiceUnavailableException('Database is not reachable'));

    expect(response.statusCode).toBe(503);
    expect(response.body).toMatchObject({
      error: 'service_unavailable',
      message: 'Database is not reachable',
    });
  });

  it('should set the headers an ApiError carries', () => {
    const response = send(
      new ApiError(ErrorCode.RateLimited, 'Slow down', undefined, { 'Retry-After': '7' }),
    );

    expect(response.statusCode).toBe(429);
    expect(response.headers).toEqual({ 'Retry-After': '7' });
  });

  it('should answer an unexpected Error with 500 and neither its message nor its stack', () => {
    const thrown = new Error('secret db password leaked');

    const response = send(thrown, 'req-500');

    expect(response.statusCode).toBe(500);
    expect(response.body).toMatchObject({ error: 'internal_error', request_id: 'req-500' });
    const written = JSON.stringify(response.body);
    expect(written).not.toContain('secret db password leaked');
    expect(written).not.toContain('stack');
    expect(written).not.toContain(thrown.stack!.split('\n')[1].trim());
    expect(response.body).not.toHaveProperty('stack');
  });

  it('should keep the original error and its stack in the log, tagged with the request id', () => {
    const thrown = new Error('secret db password leaked');

    send(thrown, 'req-500');

    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]).toContain('req-500');
    expect(log.errors[0]).toContain('secret db password leaked');
    expect(log.errors[0]).toContain(thrown.stack!.split('\n')[1].trim());
  });

  it("should say 'unknown' as the request id when the request never got one", () => {
    const response = new RecordedResponse();

    sendError(requestWithId(undefined), response as unknown as Response, ApiError.forbidden('no'));

    expect(response.statusCode).toBe(403);
    expect(response.body?.request_id).toBe('unknown');
  });

  it('should only end a response whose headers were already sent', () => {
    const response = new RecordedResponse();
    response.headersSent = true;

    sendError(requestWithId('req-1'), response as unknown as Response, new Error('late'));

    expect(response.ended).toBe(true);
    expect(response.statusCode).toBeUndefined();
    expect(response.body).toBeUndefined();
  });
});
