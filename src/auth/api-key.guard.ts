import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/errors/api-error';
import { ApiKeysService } from './api-keys.service';
import { IS_PUBLIC, REQUIRED_PERMISSIONS } from './auth.decorators';
import { Permission } from './permission.enum';
import { Principal } from './principal';

/**
 * The global guard: every route needs a valid API key holding the permissions it declares with
 * `@RequirePermissions`, unless it is `@Public()`. A route declaring neither is refused.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const required = routeAccess(this.reflector, context.getHandler(), context.getClass());
    if (required === 'public') return true;
    if (!required) throw ApiError.forbidden('This route declares no permission and is closed');

    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const principal = await this.apiKeys.authenticateRequest(request);
    request.principal = principal;
    const missing = required.filter((p) => !principal.permissions.includes(p));
    if (missing.length > 0) {
      throw ApiError.forbidden(`This API key lacks the permission ${missing.join(', ')}`);
    }
    return true;
  }
}

/**
 * What a route declares: `'public'`, the permissions it needs, or nothing. The method's own
 * declaration wins over its controller's, so a protected method stays protected in a public
 * controller and the other way round.
 */
export function routeAccess(
  reflector: Reflector,
  handler: object,
  controller: object,
): 'public' | Permission[] | undefined {
  for (const target of [handler, controller] as Array<() => void>) {
    const permissions = reflector.get<Permission[] | undefined>(REQUIRED_PERMISSIONS, target);
    if (permissions) return permissions;
    if (reflector.get<boolean | undefined>(IS_PUBLIC, target)) return 'public';
  }
  return undefined;
}
