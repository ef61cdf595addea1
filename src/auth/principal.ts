import { ApiError } from '../common/errors/api-error';
import type { Caller } from '../common/request-context';
import { ALL_ENVIRONMENTS, Permission } from './permission.enum';

/** The caller of a request: the API key it authenticated with. */
export interface Principal extends Caller {
  prefix: string;
  permissions: Permission[];
  environments: string[];
  expiresAt: string | null;
}

export function coversAllEnvironments(principal: Principal): boolean {
  return principal.environments.includes(ALL_ENVIRONMENTS);
}

export function canAccessEnvironment(principal: Principal, environment: string): boolean {
  return coversAllEnvironments(principal) || principal.environments.includes(environment);
}

/** The environments a list may show, or `undefined` for all of them. */
export function visibleEnvironments(principal: Principal): string[] | undefined {
  return coversAllEnvironments(principal) ? undefined : principal.environments;
}

/**
 * The environments a list filtered by `asked` (when given) shows the key: `asked`, or the key's
 * environments, or `undefined` for all; an environment outside the key's gives an empty list
 * (nothing).
 */
export function environmentsToList(
  principal: Principal,
  asked: string | undefined,
): string | string[] | undefined {
  const environments = visibleEnvironments(principal);
  if (environments && asked) return environments.filter((e) => e === asked);
  return asked ?? environments;
}

/** Refuses an action on an environment outside the key's scope. */
export function assertEnvironmentAllowed(principal: Principal, environment: string): void {
  if (!canAccessEnvironment(principal, environment)) {
    throw ApiError.forbidden(`This API key may not act on environment '${environment}'`);
  }
}
