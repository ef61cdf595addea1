/** Every error the API can return; the global filter maps each one to its HTTP status. */
export enum ErrorCode {
  ValidationError = 'validation_error',
  AuthenticationError = 'authentication_error',
  AuthorizationError = 'authorization_error',
  ResourceNotFound = 'resource_not_found',
  Conflict = 'conflict',
  DeploymentFailed = 'deployment_failed',
  /** A gate (lock, freeze, promotion) stops the request; `details.gates` says which and why. */
  DeploymentBlocked = 'deployment_blocked',
  IdempotencyKeyReused = 'idempotency_key_reused',
  PayloadTooLarge = 'payload_too_large',
  RateLimited = 'rate_limited',
  InternalError = 'internal_error',
  ServiceUnavailable = 'service_unavailable',
}

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.ValidationError]: 400,
  [ErrorCode.AuthenticationError]: 401,
  [ErrorCode.AuthorizationError]: 403,
  [ErrorCode.ResourceNotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.DeploymentFailed]: 409,
  [ErrorCode.DeploymentBlocked]: 409,
  [ErrorCode.IdempotencyKeyReused]: 422,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.InternalError]: 500,
  [ErrorCode.ServiceUnavailable]: 503,
};
