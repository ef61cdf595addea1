import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth, ApiExtension } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/errors/api-error-responses.decorator';
import { ErrorCode } from '../common/errors/error-code.enum';
import { Permission } from './permission.enum';
import type { Principal } from './principal';

export const IS_PUBLIC = 'flightdeck:public';
export const REQUIRED_PERMISSIONS = 'flightdeck:permissions';

/** Marks a route (or controller) as open to callers without an API key. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Requires a valid API key holding every listed permission (none listed: any valid key), and
 * documents the requirement and its 401/403 answers in Swagger.
 */
export function RequirePermissions(...permissions: Permission[]) {
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSIONS, permissions),
    ApiBearerAuth(),
    ApiExtension('x-required-permissions', permissions),
    ApiErrorResponses(
      ErrorCode.AuthenticationError,
      ...(permissions.length > 0 ? [ErrorCode.AuthorizationError] : []),
    ),
  );
}

/** The authenticated caller, set by the API-key guard. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal =>
    ctx.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
