import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorCode, HTTP_STATUS_BY_CODE } from './error-code.enum';
import { ErrorResponseDto } from './error-response.dto';

const WHEN: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.ValidationError]: 'invalid body, query or path value, or malformed JSON',
  [ErrorCode.AuthenticationError]: 'missing, malformed, unknown, expired or revoked API key',
  [ErrorCode.AuthorizationError]: 'the key lacks the permission or the environment',
  [ErrorCode.ResourceNotFound]: "no such resource (or outside the key's environments)",
  [ErrorCode.DeploymentBlocked]:
    'a gate (lock, freeze, promotion) stops it; `details.gates` lists every blocking gate',
  [ErrorCode.PayloadTooLarge]: 'JSON body over 1 MiB',
  [ErrorCode.InternalError]: 'unexpected server error',
};

/** Documents, in Swagger, the error responses a route can give, all with the one error body. */
export function ApiErrorResponses(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = HTTP_STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, sameStatus]) =>
      ApiResponse({
        status,
        type: ErrorResponseDto,
        description: sameStatus
          .map((c) => (WHEN[c] ? `\`${c}\`: ${WHEN[c]}` : `\`${c}\``))
          .join('; '),
      }),
    ),
  );
}
