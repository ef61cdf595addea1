import { ErrorCode } from './error-code.enum';

export interface FieldError {
  field: string;
  message: string;
}

export type ErrorDetails = Record<string, unknown> & { errors?: FieldError[] };

/**
 * The one exception type of the API: a stable `code`, a message safe to show the caller and
 * optional details. The global filter turns it into the contract's error body.
 */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static validation(message: string, errors?: FieldError[]): ApiError {
    return new ApiError(ErrorCode.ValidationError, message, errors ? { errors } : undefined);
  }

  static notFound(resource: string, id: string): ApiError {
    return new ApiError(ErrorCode.ResourceNotFound, `${resource} ${id} not found`);
  }

  static conflict(message: string, details?: ErrorDetails): ApiError {
    return new ApiError(ErrorCode.Conflict, message, details);
  }

  static unauthenticated(message: string): ApiError {
    return new ApiError(ErrorCode.AuthenticationError, message);
  }

  static forbidden(message: string): ApiError {
    return new ApiError(ErrorCode.AuthorizationError, message);
  }
}
